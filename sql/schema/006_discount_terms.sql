-- Early-payment discount terms an invoice may carry (for example 2 % within 10 days): the last
-- day the discount may be taken and its amount. Both empty for an invoice without a discount.
alter table invoices add column discount_date date;
alter table invoices add column discount_amount_minor bigint;

-- Cash applied across currencies: an allocation's `amount_minor` and `currency` are what the
-- invoice is paid (in the invoice's currency); `payment_amount_minor` and `payment_currency` are
-- what the payment gives up (in its own currency). They are the same for a payment of the invoice's
-- currency. `exchange_rate` (units of the invoice's currency for one unit of the payment's, decimal
-- text) and `rate_date` (the day quoted) are the reference rate the conversion used; empty when
-- no conversion was needed.
alter table allocations add column payment_amount_minor bigint;
alter table allocations add column payment_currency varchar;
alter table allocations add column exchange_rate varchar;
alter table allocations add column rate_date date;
update allocations set payment_amount_minor = amount_minor, payment_currency = currency;
alter table allocations alter column payment_amount_minor set not null;
alter table allocations alter column payment_currency set not null;

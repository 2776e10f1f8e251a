-- Credit notes: an order that credits another (a cancellation or a return, its lines with negative
-- quantities) is billed as a credit note against the invoice of the order it credits.
alter table orders add column credit_for varchar;             -- the order_id this order credits
alter table invoices add column kind varchar default 'invoice';   -- 'invoice' or 'credit_note'
alter table invoices add column credit_for_invoice varchar;   -- the invoice a credit note credits

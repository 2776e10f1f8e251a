-- Orders already billed, with their invoice and what is open on it: the invoices that credit notes
-- of this run may credit.
select i.order_id, i.invoice_id, i.customer_id, i.currency, b.open_minor
from invoices i
join invoice_balances b using (invoice_id)
where i.order_id is not null and coalesce(i.kind, 'invoice') = 'invoice'

-- Cash applied to the invoices of customers with an open promise: what can keep a promise.
select a.invoice_id, i.customer_id, i.currency, p.value_date, a.amount_minor
from allocations a
join payments p using (payment_id)
join invoices i using (invoice_id)
where i.customer_id in (select customer_id from cases where kind = 'promise' and status = 'open')

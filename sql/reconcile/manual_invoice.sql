-- One invoice and what it still owes (amount less all cash allocated to it).
select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.amount_minor,
    i.amount_minor - coalesce((
        select sum(a.amount_minor) from allocations a where a.invoice_id = i.invoice_id
    ), 0) as open_minor
from invoices i
where i.invoice_id = $invoice_id

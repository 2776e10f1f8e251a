-- The invoice a write-off is for, with what is open on it now and what proposals already hold.
select b.invoice_id, b.customer_id, b.currency, b.open_minor,
       (select coalesce(sum(w.amount_minor), 0) from write_offs w
        where w.invoice_id = b.invoice_id and w.status = 'proposed') as proposed_minor
from invoice_balances b
where b.invoice_id = $invoice_id

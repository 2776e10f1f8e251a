-- Every invoice issued by the as-of date with its open amount now (paid invoices too, open 0, so
-- that a payment naming a paid invoice is recognised as such), its early-payment discount terms,
-- and what credit notes took off it (the discount is re-based on what the invoice still bills).
select b.invoice_id, b.customer_id, b.currency, b.due_date, b.open_minor, b.amount_minor,
       i.discount_date, i.discount_amount_minor,
       (select sum(a.amount_minor) from invoice_adjustments a
        where a.invoice_id = b.invoice_id and a.kind = 'credit_note') as credited_minor
from invoice_balances b
join invoices i using (invoice_id)
where b.issue_date <= $as_of

-- Every invoice issued by the as-of date with its open amount now (paid invoices too, open 0, so
-- that a payment naming a paid invoice is recognised as such), its early-payment discount terms,
-- what credit notes took off it (the discount is re-based on what the invoice still bills), and,
-- for an invoice paid in instalments, its parts' due dates and amounts in instalment order (null
-- for an invoice not in instalments): a payment of whole parts is not a short payment. A reminder's
-- fee or interest (origin 'charge') names its reminder in `charged_by` (null for any other
-- invoice), issued on the reminder's date: the rest of a payment may pay them (`charges.py`).
with parts as (
    select invoice_id,
           list(due_date order by instalment) as instalment_due_dates,
           list(amount_minor order by instalment) as instalment_amounts_minor
    from invoice_instalments
    group by invoice_id
)

select b.invoice_id, b.customer_id, b.currency, b.due_date, b.open_minor, b.amount_minor,
       i.discount_date, i.discount_amount_minor,
       (select sum(a.amount_minor) from invoice_adjustments a
        where a.invoice_id = b.invoice_id and a.kind = 'credit_note') as credited_minor,
       p.instalment_due_dates, p.instalment_amounts_minor,
       b.issue_date, i.charged_by
from invoice_balances b
join invoices i using (invoice_id)
left join parts p using (invoice_id)
where b.issue_date <= $as_of

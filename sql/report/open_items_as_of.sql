-- Every invoice's open amount as the ledger stood on the as-of date: only cash whose payment was
-- received by then counts, and only what was written off by then, so an invoice paid later was
-- open on that date.
with applied as (
    select a.invoice_id, sum(a.amount_minor) as applied_minor
    from allocations a
    join payments p using (payment_id)
    where p.value_date <= $as_of
    group by a.invoice_id
),

written_off as (
    select invoice_id, sum(amount_minor) as written_off_minor
    from invoice_adjustments
    where as_of <= $as_of
    group by invoice_id
)

select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.issue_date,
    i.due_date,
    i.amount_minor,
    i.amount_minor - coalesce(a.applied_minor, 0) - coalesce(w.written_off_minor, 0) as open_minor
from invoices i
left join applied a using (invoice_id)
left join written_off w using (invoice_id)
where i.issue_date <= $as_of
order by i.invoice_id

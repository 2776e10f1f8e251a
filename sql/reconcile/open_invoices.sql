-- Invoices issued on or before the as-of date with an open amount, after all cash applied so far.
with applied as (
    select invoice_id, sum(amount_minor) as applied_minor
    from allocations
    group by invoice_id
)

select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.issue_date,
    i.due_date,
    i.amount_minor,
    i.amount_minor - coalesce(a.applied_minor, 0) as open_minor
from invoices i
left join applied a using (invoice_id)
where i.issue_date <= $as_of
  and i.amount_minor - coalesce(a.applied_minor, 0) > 0
order by i.due_date, i.invoice_id

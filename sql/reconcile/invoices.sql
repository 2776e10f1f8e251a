-- Every invoice issued by the as-of date with its open amount after all cash applied so far
-- (paid invoices too, open 0, so that a payment naming a paid invoice is recognised as such).
with applied as (
    select invoice_id, sum(amount_minor) as applied_minor
    from allocations
    group by invoice_id
)

select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.due_date,
    i.amount_minor - coalesce(a.applied_minor, 0) as open_minor
from invoices i
left join applied a using (invoice_id)
where i.issue_date <= $as_of

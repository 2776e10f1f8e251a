-- Every invoice settled by the as-of date: the value date of the cash that completed it (cash and
-- write-offs by then covering its amount), against its issue date, due date and amount.
with paid as (
    select a.invoice_id, max(p.value_date) as settled_on, sum(a.amount_minor) as paid_minor
    from allocations a join payments p using (payment_id)
    where p.value_date <= $as_of
    group by a.invoice_id
),
adjusted as (
    select invoice_id, sum(amount_minor) as adjusted_minor
    from invoice_adjustments where as_of <= $as_of group by invoice_id
)
select i.invoice_id, i.customer_id, i.currency, i.issue_date, i.due_date, i.amount_minor, paid.settled_on
from invoices i
join paid using (invoice_id)
left join adjusted using (invoice_id)
where i.amount_minor > 0 and i.issue_date <= $as_of
  and paid.paid_minor + coalesce(adjusted.adjusted_minor, 0) >= i.amount_minor
order by i.invoice_id

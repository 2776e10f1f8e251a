-- Invoices settled in the 12 months before the date: the day the last cash that settled them was
-- received, against their due date and amount (what a customer's rating is computed from).
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
select i.customer_id, i.invoice_id, i.amount_minor, i.due_date, paid.settled_on
from invoices i
join paid using (invoice_id)
left join adjusted using (invoice_id)
where i.amount_minor > 0
  and paid.paid_minor + coalesce(adjusted.adjusted_minor, 0) >= i.amount_minor
  and paid.settled_on > cast($as_of as date) - interval 365 day

-- The escalate stage's floor: per customer and currency, the open and overdue amount and the
-- oldest overdue item's days past due as of the date, as one SQL over the ledger (no ratings,
-- policy, worklist, holds, proposals or checks).
create or replace temp table floor_escalate as
with applied as (
    select a.invoice_id, sum(a.amount_minor)::bigint as applied_minor
    from allocations a join payments p using (payment_id)
    where p.value_date <= $as_of
    group by a.invoice_id
),
adjusted as (
    select invoice_id, sum(amount_minor)::bigint as adjusted_minor
    from invoice_adjustments where as_of <= $as_of group by invoice_id
),
open_item as (
    select i.customer_id, i.currency,
           i.amount_minor - coalesce(a.applied_minor, 0) - coalesce(w.adjusted_minor, 0) as open_minor,
           cast(cast($as_of as date) - i.due_date as bigint) as days_past_due
    from invoices i
    left join applied a using (invoice_id)
    left join adjusted w using (invoice_id)
    where i.issue_date <= $as_of
)
select customer_id, currency, sum(open_minor)::bigint as open_minor,
       sum(open_minor) filter (where days_past_due > 0)::bigint as overdue_minor,
       coalesce(max(days_past_due) filter (where days_past_due > 0), 0) as oldest_days_past_due,
       count(*) as open_items
from open_item
where open_minor > 0
group by customer_id, currency

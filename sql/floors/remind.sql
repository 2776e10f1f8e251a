-- The remind stage's floor: every open item past due (or within the standard courtesy window)
-- with the level it has reached under the standard ladder, and its customer's message level, as
-- one SQL over the ledger: what a hand-written script needs for the levels (no profiles, history,
-- cases, cash, spacing, minimums, rendering or checks).
create or replace temp table floor_remind as
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
    select i.invoice_id, i.customer_id, i.currency, i.due_date,
           i.amount_minor - coalesce(a.applied_minor, 0) - coalesce(w.adjusted_minor, 0) as open_minor,
           cast(cast($as_of as date) - i.due_date as bigint) as days_past_due
    from invoices i
    left join applied a using (invoice_id)
    left join adjusted w using (invoice_id)
    where i.issue_date <= $as_of
),
leveled as (
    select *,
           case when days_past_due >= 35 then 3 when days_past_due >= 21 then 2 when days_past_due >= 7 then 1
                when days_past_due between -3 and -1 then 0 end as level
    from open_item
    where open_minor > 0
)
select invoice_id, customer_id, currency, open_minor, days_past_due, level,
       max(level) over (partition by customer_id) as message_level
from leveled
where level is not null

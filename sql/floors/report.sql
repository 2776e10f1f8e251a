-- The report stage's floor: per currency, the open amount and its ageing buckets by days past due
-- as of the date, as one SQL over the ledger (no DSO, KPIs, forecast, page or checks).
create or replace temp table floor_report as
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
    select i.currency,
           i.amount_minor - coalesce(a.applied_minor, 0) - coalesce(w.adjusted_minor, 0) as open_minor,
           cast(cast($as_of as date) - i.due_date as bigint) as days_past_due
    from invoices i
    left join applied a using (invoice_id)
    left join adjusted w using (invoice_id)
    where i.issue_date <= $as_of
)
select currency, sum(open_minor)::bigint as open_minor,
       coalesce(sum(open_minor) filter (where days_past_due <= 0), 0)::bigint as not_due,
       coalesce(sum(open_minor) filter (where days_past_due between 1 and 30), 0)::bigint as d1_30,
       coalesce(sum(open_minor) filter (where days_past_due between 31 and 60), 0)::bigint as d31_60,
       coalesce(sum(open_minor) filter (where days_past_due between 61 and 90), 0)::bigint as d61_90,
       coalesce(sum(open_minor) filter (where days_past_due between 91 and 120), 0)::bigint as d91_120,
       coalesce(sum(open_minor) filter (where days_past_due > 120), 0)::bigint as d120_plus,
       count(*) as open_items
from open_item
where open_minor > 0
group by currency

-- DSO's two amounts at each of the month ends given ($month_ends), per currency, as the report would
-- have computed them on that date: the receivables (positive open amounts, counting only the cash
-- received and the write-offs made by then) and the credit sales of the $period_days days before.
-- For the DSO trend of a first report run, which has no earlier snapshots. With $entity, only that
-- legal entity's invoices (`entity_members`, registered by the caller; $entity null: every invoice).
with ends as (
    select unnest($month_ends)::date as month_end
),
paid as (
    select e.month_end, a.invoice_id, sum(a.amount_minor) as paid_minor
    from ends e
    join payments p on p.value_date <= e.month_end
    join allocations a on a.payment_id = p.payment_id
    group by e.month_end, a.invoice_id
),
written_off as (
    select e.month_end, w.invoice_id, sum(w.amount_minor) as written_off_minor
    from ends e
    join invoice_adjustments w on w.as_of <= e.month_end
    group by e.month_end, w.invoice_id
),
scoped as (
    select i.* from invoices i
    where $entity is null
       or i.invoice_id in (select id from entity_members where kind = 'invoice' and entity = $entity)
),
open_then as (
    select e.month_end, i.currency, i.issue_date, i.amount_minor,
           i.amount_minor - coalesce(p.paid_minor, 0) - coalesce(w.written_off_minor, 0) as open_minor
    from ends e
    join scoped i on i.issue_date <= e.month_end
    left join paid p on p.month_end = e.month_end and p.invoice_id = i.invoice_id
    left join written_off w on w.month_end = e.month_end and w.invoice_id = i.invoice_id
)
select month_end, currency,
       coalesce(sum(open_minor) filter (where open_minor > 0), 0)::bigint as open_minor,
       coalesce(sum(amount_minor) filter (where issue_date > month_end - cast($period_days as integer)), 0)::bigint
           as sales_minor
from open_then
group by month_end, currency
order by month_end, currency

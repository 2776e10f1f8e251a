-- DSO's two amounts at each of the month ends given ($month_ends), per currency, as the report would
-- have computed them on that date: the receivables (positive open amounts, counting only the cash
-- received and the write-offs made by then) and the credit sales of the $period_days days before.
-- For the DSO trend of a first report run, which has no earlier snapshots. With $entity, only that
-- legal entity's invoices (`entity_members`, registered by the caller; $entity null: every invoice).
--
-- Not every invoice at every month end (twelve times a million rows): an invoice counts its amount,
-- when positive, from the first month end on or after its issue; what it has open changes only at the
-- month ends by which cash or a write-off reached it (one row each: how much more, or less, it counts
-- from then on than its amount), and those changes, summed per currency and month end, carry forward.
with ends as (
    select unnest($month_ends)::date as month_end
),
scoped as (
    select i.invoice_id, i.currency, i.issue_date, i.amount_minor from invoices i
    where $entity is null
       or i.invoice_id in (select id from entity_members where kind = 'invoice' and entity = $entity)
),
issued as (  -- per currency and day of issue: the positive amounts, and the sales
    select currency, issue_date, sum(greatest(amount_minor, 0)) as positive_minor, sum(amount_minor) as amount_minor
    from scoped
    group by currency, issue_date
),
reductions as (  -- cash applied (by its payment's value date) and write-offs (by their day)
    select a.invoice_id, p.value_date as day, a.amount_minor
    from allocations a
    join payments p on p.payment_id = a.payment_id
    union all
    select w.invoice_id, w.as_of, w.amount_minor
    from invoice_adjustments w
),
reduced as (  -- per invoice, what reached it by each month end it changed at: a reduction counts
              -- at the first month end on or after its day (or the invoice's issue, if later)
    select d.invoice_id, d.currency, d.invoice_minor, e.month_end, sum(d.amount_minor) as reduced_minor
    from (
        select i.invoice_id, i.currency, i.amount_minor as invoice_minor,
               greatest(r.day, i.issue_date) as day, r.amount_minor
        from reductions r
        join scoped i on i.invoice_id = r.invoice_id
        where r.day is not null
    ) d
    asof join ends e on d.day <= e.month_end
    group by d.invoice_id, d.currency, d.invoice_minor, e.month_end
),
instead as (  -- what the invoice counts from that month end on, less its amount when positive
    select invoice_id, currency, month_end,
           greatest(invoice_minor - sum(reduced_minor) over (partition by invoice_id order by month_end), 0)
               - greatest(invoice_minor, 0) as instead_minor
    from reduced
),
changes as (  -- the change at each month end, per currency
    select currency, month_end, sum(step_minor) as change_minor
    from (
        select currency, month_end,
               instead_minor - coalesce(lag(instead_minor) over (partition by invoice_id order by month_end), 0)
                   as step_minor
        from instead
    ) s
    group by currency, month_end
),
counted as (
    select e.month_end, s.currency, sum(s.positive_minor) as positive_minor,
           coalesce(sum(s.amount_minor) filter (where s.issue_date > e.month_end - cast($period_days as integer)), 0)
               as sales_minor
    from ends e
    join issued s on s.issue_date <= e.month_end
    group by e.month_end, s.currency
),
carried as (
    select e.month_end, c.currency, sum(c.change_minor) as change_minor
    from ends e
    join changes c on c.month_end <= e.month_end
    group by e.month_end, c.currency
)
select c.month_end, c.currency,
       (c.positive_minor + coalesce(r.change_minor, 0))::bigint as open_minor,
       c.sales_minor::bigint as sales_minor
from counted c
left join carried r on r.month_end = c.month_end and r.currency = c.currency
order by c.month_end, c.currency

-- Every invoice's open amount as the ledger stood on the as-of date: only cash whose payment was
-- received by then counts, and only what was written off by then, so an invoice paid later was
-- open on that date. An invoice paid in instalments is one item per part, each with its own due
-- date: what was paid covers the parts in order, and the parts' open amounts sum to the invoice's.
with applied as (
    select a.invoice_id, sum(a.amount_minor)::bigint as applied_minor
    from allocations a
    join payments p using (payment_id)
    where p.value_date <= $as_of
    group by a.invoice_id
),

written_off as (
    select invoice_id, sum(amount_minor)::bigint as written_off_minor
    from invoice_adjustments
    where as_of <= $as_of
    group by invoice_id
),

invoice_open as (
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
),

parts as (
    select
        p.invoice_id,
        p.instalment,
        p.due_date,
        p.amount_minor,
        (sum(p.amount_minor) over (partition by p.invoice_id order by p.instalment))::bigint as through_minor,
        p.instalment = max(p.instalment) over (partition by p.invoice_id) as is_last
    from invoice_instalments p
    where p.invoice_id in (select invoice_id from invoice_open)
),

part_open as (
    select
        t.invoice_id,
        t.instalment,
        t.due_date,
        t.amount_minor,
        t.is_last,
        -- paid so far = amount - open; it covers part 1 first, then part 2, ...
        greatest(0, least(t.amount_minor, t.through_minor - (o.amount_minor - o.open_minor))) as covered_open
    from parts t
    join invoice_open o using (invoice_id)
),

part_items as (
    select
        o.invoice_id,
        o.customer_id,
        o.currency,
        o.issue_date,
        p.due_date,
        p.amount_minor,
        case
            -- the last part takes what the clamp left out (an overpayment, or more open than billed)
            when p.is_last then o.open_minor
                - coalesce(sum(p.covered_open) over (partition by p.invoice_id), 0)::bigint + p.covered_open
            else p.covered_open
        end as open_minor,
        p.instalment
    from part_open p
    join invoice_open o using (invoice_id)
)

select invoice_id, customer_id, currency, issue_date, due_date, amount_minor, open_minor,
       null::integer as instalment
from invoice_open o
where not exists (select 1 from invoice_instalments p where p.invoice_id = o.invoice_id)
union all
select * from part_items
order by invoice_id, instalment

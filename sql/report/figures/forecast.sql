-- Cash expected in each week after the date, per currency: each receivable on its due date plus
-- its customer's habit in that currency (the amount-weighted days late of its settled invoices,
-- rounded half up to whole days; without one, its currency's; else 0), never before tomorrow.
-- Week 0 is the first 7 days from tomorrow; `week` is capped at $weeks (later than the forecast).
with late as (
    select customer_id, currency, amount_minor,
           greatest(cast(settled_on as date) - cast(due_date as date), 0)::hugeint * amount_minor as weighted
    from settled
),
habit as (
    select customer_id, currency,
           case when sum(amount_minor) > 0
                then (2 * sum(weighted) + sum(amount_minor)) // (2 * sum(amount_minor)) else 0 end as delay
    from late
    where customer_id is not null and currency is not null
    group by customer_id, currency
),
overall as (
    select currency,
           case when sum(amount_minor) > 0
                then (2 * sum(weighted) + sum(amount_minor)) // (2 * sum(amount_minor)) else 0 end as delay
    from late
    where currency is not null
    group by currency
),
expected as (
    select i.currency, i.open_minor,
           greatest(i.due_date + cast(coalesce(h.delay, o.delay, 0) as integer), cast($as_of as date) + 1) as on_day
    from items i
    left join habit h on h.customer_id = i.customer_id and h.currency = i.currency
    left join overall o on o.currency = i.currency
    where i.open_minor > 0 and i.currency is not null
)
select currency, least((on_day - (cast($as_of as date) + 1)) // 7, $weeks) as week,
       sum(open_minor)::hugeint as open_minor
from expected
group by all

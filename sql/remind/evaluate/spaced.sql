-- Customers reminded fewer days ago (about any invoice, open or not) than their message's level
-- (the highest among their items) waits since the previous reminder.
create or replace temp table hits as
with last_on as (
    select customer_id, max(cast(last_reminded_on as date)) as last_reminded_on
    from history_in
    group by customer_id
),
message as (
    select customer_id, any_value(profile) as profile, max(level) as level
    from remaining
    group by customer_id
),
waits as (
    select m.customer_id, l.min_days_since_previous as spacing,
           cast(cast($as_of as date) - o.last_reminded_on as bigint) as since
    from message m
    join ladder l using (profile, level)
    join last_on o using (customer_id)
)
select r._row, r.customer_id, r.invoice_id, 5 as step,
       'last reminded ' || w.since || ' days ago; this level waits ' || w.spacing as reason,
       true as whole_customer
from remaining r
join waits w using (customer_id)
where w.since < w.spacing

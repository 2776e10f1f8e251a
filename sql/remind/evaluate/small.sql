-- Items in a currency whose open amount (per customer and currency) is below the minimum of the
-- customer's message level (the highest among its items) for that currency.
create or replace temp table hits as
with item as (
    select r.*,
           max(r.level) over (partition by r.customer_id) as message_level,
           sum(r.open_minor) over (partition by r.customer_id, r.currency)::bigint as total_minor
    from remaining r
)
select i._row, i.customer_id, i.invoice_id, 6 as step,
       'open amount ' || i.total_minor || ' below the level''s minimum of ' || m.min_open_minor
           || ' minor units' as reason,
       false as whole_customer
from item i
join minimums m on m.profile = i.profile and m.level = i.message_level and m.currency = i.currency
where i.total_minor < m.min_open_minor

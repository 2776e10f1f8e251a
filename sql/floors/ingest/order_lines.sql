-- The ingest floor for an order lines file: its text (floor_text, every column varchar) cast to the
-- ledger's types, unit prices in minor units of their order's currency (the orders of this floor's
-- run, else the ledger's), inserted into a scratch table shaped like the ledger's. No checks.
create temp table if not exists floor_orders as from orders limit 0;
--   $currencies, $factors: each currency and 10^its exponent (money in minor units)
create temp table if not exists floor_order_lines as from order_lines limit 0;
insert into floor_order_lines by name
select
    trim(t.order_id) as order_id,
    trim(t.line_no)::integer as line_no,
    nullif(trim(t.sku), '') as sku,
    nullif(trim(t.description), '') as description,
    trim(t.quantity)::bigint as quantity,
    (trim(t.unit_price)::decimal(18, 3) * scale.factor)::bigint as unit_price_minor,
    (trim(t.tax_rate)::decimal(18, 6) * 1000000)::integer as tax_rate_ppm,
    'floor' as batch_id,
    'floor' as run_id
from floor_text t
left join (
    select order_id, currency from floor_orders
    union all
    select order_id, currency from orders where order_id not in (select order_id from floor_orders)
) o on o.order_id = trim(t.order_id)
left join (select unnest($currencies) as currency, unnest($factors) as factor) scale
    on scale.currency = o.currency

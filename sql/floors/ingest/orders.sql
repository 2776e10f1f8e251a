-- The ingest floor for an orders file: its text (floor_text, every column varchar) cast to the
-- ledger's types and inserted into a scratch table shaped like the ledger's. No checks.
create temp table if not exists floor_orders as from orders limit 0;
insert into floor_orders by name
select
    trim(order_id) as order_id,
    trim(customer_id) as customer_id,
    trim(order_date)::date as order_date,
    trim(currency) as currency,
    trim(status) as status,
    nullif(trim(fulfilled_date), '')::date as fulfilled_date,
    'floor' as batch_id,
    'floor' as run_id
from floor_text

-- The ingest floor for an invoices file: its text (floor_text, every column varchar) cast to the
-- ledger's types, amounts in minor units of their currency, inserted into a scratch table shaped
-- like the ledger's. No checks.
--   $currencies, $factors: each currency and 10^its exponent (money in minor units)
create temp table if not exists floor_invoices as from invoices limit 0;
insert into floor_invoices by name
select
    trim(t.invoice_id) as invoice_id,
    trim(t.customer_id) as customer_id,
    trim(t.issue_date)::date as issue_date,
    trim(t.due_date)::date as due_date,
    trim(t.currency) as currency,
    (trim(t.amount)::decimal(18, 3) * scale.factor)::bigint as amount_minor,
    nullif(trim(t.order_id), '') as order_id,
    nullif(trim(t.discount_date), '')::date as discount_date,
    (nullif(trim(t.discount_amount), '')::decimal(18, 3) * scale.factor)::bigint as discount_amount_minor,
    'ingested' as origin,
    'floor' as batch_id,
    'floor' as run_id
from floor_text t
left join (select unnest($currencies) as currency, unnest($factors) as factor) scale
    on scale.currency = trim(t.currency)

-- The ingest floor for a payments file: its text (floor_text, every column varchar) cast to the
-- ledger's types, amounts in minor units of their currency, inserted into a scratch table shaped
-- like the ledger's. No checks.
--   $currencies, $factors: each currency and 10^its exponent (money in minor units)
create temp table if not exists floor_payments as from payments limit 0;
insert into floor_payments by name
select
    trim(t.payment_id) as payment_id,
    trim(t.value_date)::date as value_date,
    (trim(t.amount)::decimal(18, 3) * scale.factor)::bigint as amount_minor,
    trim(t.currency) as currency,
    nullif(trim(t.payer_name), '') as payer_name,
    nullif(trim(t.payer_account), '') as payer_account,
    nullif(trim(t.reference), '') as reference,
    'floor' as batch_id,
    'floor' as run_id
from floor_text t
left join (select unnest($currencies) as currency, unnest($factors) as factor) scale
    on scale.currency = trim(t.currency)

-- The ingest floor for a customers file: its text (floor_text, every column varchar) cast to the
-- ledger's types and inserted into scratch tables shaped like the ledger's, with the defaults the
-- ledger needs. No checks, reasons, quarantine, evidence or audit.
--   $currencies, $factors: each currency and 10^its exponent (money in minor units)
create temp table if not exists floor_customers as from customers limit 0;
insert into floor_customers by name
select
    trim(t.customer_id) as customer_id,
    trim(t.name) as name,
    nullif(trim(t.email), '') as email,
    nullif(trim(t.country), '') as country,
    trim(t.currency) as currency,
    coalesce(nullif(trim(t.payment_terms_days), '')::integer, 30) as payment_terms_days,
    (nullif(trim(t.credit_limit), '')::decimal(18, 3) * scale.factor)::bigint as credit_limit_minor,
    nullif(trim(t.segment), '') as segment,
    coalesce(nullif(trim(t.dunning_profile), ''), 'standard') as dunning_profile,
    coalesce(nullif(trim(t.language), ''), 'en') as language,
    nullif(trim(t.payment_terms), '') as payment_terms,
    'floor' as batch_id,
    'floor' as run_id
from floor_text t
left join (select unnest($currencies) as currency, unnest($factors) as factor) scale
    on scale.currency = trim(t.currency);
create temp table if not exists floor_customer_bank_accounts as from customer_bank_accounts limit 0;
insert into floor_customer_bank_accounts by name
select distinct customer_id, account, 'floor' as batch_id, 'floor' as run_id
from (
    select trim(customer_id) as customer_id,
        upper(replace(unnest(string_split(bank_accounts, ';')), ' ', '')) as account
    from floor_text
    where nullif(trim(bank_accounts), '') is not null
)
where account <> ''

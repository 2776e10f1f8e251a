-- The receivables per currency and days past due, and per currency and days since the invoice
-- date, as of the date: what the ageing buckets add up (`kind` says which days).
select 'due' as kind, currency, cast(cast($as_of as date) - due_date as bigint) as days,
       sum(open_minor)::hugeint as open_minor
from items
where open_minor > 0 and currency is not null
group by all
union all
select 'issue' as kind, currency, cast(cast($as_of as date) - issue_date as bigint) as days,
       sum(open_minor)::hugeint as open_minor
from items
where open_minor > 0 and currency is not null
group by all

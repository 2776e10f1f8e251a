-- A file's amounts as read, per currency, summed exactly (a HUGEINT: a sum never wraps).
--   amounts(currency varchar, amount_minor bigint): every row of the file, quarantined or not; a row
--   without a currency counts in no total, a currency whose amounts are all missing totals 0.
select currency, coalesce(sum(amount_minor), 0)::hugeint as total
from amounts
where currency is not null
group by currency
order by currency

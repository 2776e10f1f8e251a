-- Every exchange rate known, oldest first.
select rate_date, base_currency, currency, rate
from exchange_rates
order by base_currency, currency, rate_date

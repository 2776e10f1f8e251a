-- Credit sales per currency and month of issue, up to the date (the current month up to it).
select currency, date_trunc('month', issue_date)::date as month, sum(amount_minor)::hugeint as sales_minor
from items
where currency is not null and issue_date <= cast($as_of as date)
group by all

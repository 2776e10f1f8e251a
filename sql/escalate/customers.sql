-- What escalation needs to know of each customer: tags, collector group, account owner, credit limit.
select customer_id, name, coalesce(tags, '') as tags, coalesce(collector_group, 'default') as collector_group,
       account_owner, credit_limit_minor, currency as customer_currency
from customers

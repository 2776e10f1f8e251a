-- What escalation needs to know of each customer: tags, collector group, account owner, credit limit,
-- and whether its e-mail address bounced (the latest bounce, drop or spam report for it).
select c.customer_id, c.name, coalesce(c.tags, '') as tags, coalesce(c.collector_group, 'default') as collector_group,
       c.account_owner, c.credit_limit_minor, c.currency as customer_currency,
       case when b.email is not null then c.email || ': ' || b.why end as bounced
from customers c
left join (
    select lower(email) as email, arg_max(event || coalesce(': ' || reason, ''), occurred_at) as why
    from mail_events
    where event in ('bounce', 'dropped', 'spamreport')
    group by lower(email)
) b on b.email = lower(trim(c.email))

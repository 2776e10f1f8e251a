-- Who we write to, in which language, under which dunning profile, with which tags, the legal entity
-- that writes (its name, address and account sign the reminder), and whether the customer's e-mail
-- address bounced (the latest bounce, drop or spam report the mail provider sent back for it).
select c.customer_id, c.name, c.email, c.language, c.dunning_profile, coalesce(c.tags, '') as tags,
       coalesce(c.legal_entity, '') as legal_entity,
       case when b.email is not null then c.email || ': ' || b.why end as bounced
from customers c
left join (
    select lower(email) as email, arg_max(event || coalesce(': ' || reason, ''), occurred_at) as why
    from mail_events
    where event in ('bounce', 'dropped', 'spamreport')
    group by lower(email)
) b on b.email = lower(trim(c.email))

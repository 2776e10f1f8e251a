-- The open items with the highest level each has reached on the as-of date under its customer's
-- profile (an unknown or empty profile: the default), named; one row per item, `_row` its place in
-- the facts. An item at no level yet is not dunned at all, nor is a reminder's charge (`charges_in`:
-- the fees and interest reminders booked).
create or replace temp table reached as
with customer as (
    select customer_id, dunning_profile
    from customers_in
    qualify row_number() over (partition by customer_id order by _row) = 1
),
item as (
    select i._row, i.customer_id, i.invoice_id, i.currency, i.issue_date, i.due_date, i.open_minor,
           cast(cast($as_of as date) - i.due_date as bigint) as days_past_due,
           case when c.dunning_profile in (select profile from ladder) then c.dunning_profile
                else $default_profile end as profile
    from items_in i
    left join customer c using (customer_id)
    where i.open_minor > 0
      and not exists (select 1 from charges_in x where x.invoice_id = i.invoice_id)
),
-- a level is reached from its days on (a courtesy level only before the due date); the highest wins
level_on as (
    select d.profile, d.days_past_due, max(l.level) as level
    from (select distinct profile, days_past_due from item) d
    join ladder l on l.profile = d.profile
                 and d.days_past_due >= l.days
                 and (not l.courtesy or d.days_past_due < 0)
    group by d.profile, d.days_past_due
)
select item.*, level_on.level
from item
join level_on using (profile, days_past_due)

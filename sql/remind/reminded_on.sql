-- The reminders already queued for each customer on the as-of date (not lost in delivery): a
-- customer gets at most one reminder a day, however many times the day is run.
select customer_id, reminder_id
from reminders
where as_of = $as_of
  and status <> 'failed'
order by customer_id, reminder_id

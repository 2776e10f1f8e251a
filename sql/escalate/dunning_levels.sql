-- The highest reminder level each customer has reached (reminders not lost in delivery), by the date.
select customer_id, max(level) as dunning_level
from reminders
where status not in ('failed') and as_of <= $as_of
group by customer_id

-- o2c's reminders not failed for good, by customer and business date, and the latest remind
-- evaluation's reasons for leaving a customer out: what a pilot compares with the legacy reminders.
select customer_id, cast(as_of as date) as reminder_date, level, level_name, reminder_id
from reminders
where status <> 'failed'
order by customer_id, reminder_date

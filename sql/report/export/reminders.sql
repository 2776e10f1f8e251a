-- Every reminder message with its level, invoice set and delivery state.
select customer_id, level, invoice_ids, status, run_id, reminder_id, level_name, as_of, recipient
from reminders
order by as_of, customer_id, level

-- The collector worklist of the latest escalate run.
select customer_id, reason, open_amount_minor, currency, overdue_amount_minor, oldest_days_past_due, as_of
from worklist
order by overdue_amount_minor desc, customer_id

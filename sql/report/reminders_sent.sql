-- Reminders the mailer accepted in the period.
select reminder_id, customer_id, level, sent_at
from reminders
where status = 'sent' and cast(sent_at as date) > cast($as_of as date) - to_days(cast($period_days as integer))
  and cast(sent_at as date) <= $as_of

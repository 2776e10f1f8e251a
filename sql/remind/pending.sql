-- Outbox messages not yet handed to the mailer.
select reminder_id, customer_id, recipient, subject, body_text, body_html, status
from reminders
where status = 'queued'
order by reminder_id

-- Notices to account owners due to be handed to the mailer (queued, or retrying once their next
-- attempt has come).
select mail_id, customer_id, recipient, subject, body_text, body_html, status, transient_failures
from owner_notices
where status = 'queued'
   or (status = 'retrying' and next_attempt_at <= $now)
order by mail_id

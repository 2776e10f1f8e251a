-- Notices to account owners not yet handed to the mailer.
select mail_id, customer_id, recipient, subject, body_text, body_html, status
from owner_notices
where status = 'queued'
order by mail_id

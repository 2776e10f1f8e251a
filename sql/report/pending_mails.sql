-- Report e-mails due to be handed to the mailer (queued, or retrying once their next attempt has come).
select mail_id, '' as customer_id, recipient, subject, body_text, body_html, document, attachment_json, status,
       transient_failures
from report_mails
where status = 'queued'
   or (status = 'retrying' and next_attempt_at <= $now)
order by mail_id

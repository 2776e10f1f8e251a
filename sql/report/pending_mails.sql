-- Report e-mails not yet handed to the mailer.
select mail_id, '' as customer_id, recipient, subject, body_text, body_html, document, attachment_json, status
from report_mails
where status = 'queued'
order by mail_id

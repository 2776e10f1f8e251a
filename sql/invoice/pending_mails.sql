-- Invoice e-mails not yet handed to the mailer.
select m.mail_id, m.invoice_id, m.customer_id, m.recipient, m.subject, m.body_text, m.body_html,
       m.document, m.status
from invoice_mails m
where m.status = 'queued'
order by m.mail_id

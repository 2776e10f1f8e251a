-- Invoice e-mails due to be handed to the mailer (queued, or retrying once their next attempt has come).
select m.mail_id, m.invoice_id, m.customer_id, m.recipient, m.subject, m.body_text, m.body_html,
       m.document, m.status, m.transient_failures
from invoice_mails m
where m.status = 'queued'
   or (m.status = 'retrying' and m.next_attempt_at <= $now)
order by m.mail_id

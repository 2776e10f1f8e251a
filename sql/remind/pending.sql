-- Outbox messages due to be handed to the mailer (queued, or retrying once their next attempt has
-- come), with how many messages their customer has been sent on the given day (for the daily cap).
select r.reminder_id, r.customer_id, r.level, r.recipient, r.subject, r.body_text, r.body_html,
       r.statement_csv, r.status, r.transient_failures,
       (select count(*) from reminders s
        where s.customer_id = r.customer_id and s.status = 'sent' and cast(s.sent_at as date) = $today)
           as sent_today
from reminders r
where r.status = 'queued'
   or (r.status = 'retrying' and r.next_attempt_at <= $now)
order by r.reminder_id

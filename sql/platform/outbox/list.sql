-- Outbox messages for `o2c outbox list`, newest first (by their last hand-over to the mailer, else
-- their date): those that need attention (unknown, failed, retrying) or, given a status, those in
-- it; of one kind (reminder, invoice, escalation, report) or of all.
select kind, entity, message_id, customer_id, recipient, as_of, status, status_reason, attempts,
       last_attempt_at, next_attempt_at, transient_failures, failure, sent_at
from outbox_messages
where (case when $status is null then status in ('unknown', 'failed', 'retrying') else status = $status end)
  and ($kind is null or kind = $kind)
order by coalesce(last_attempt_at, cast(as_of as timestamp)) desc, message_id

-- One outbox message by its id (R-..., MAIL-..., OWN-..., RPT-...), whatever its kind.
select kind, entity, message_id, customer_id, recipient, as_of, status, status_reason, attempts,
       last_attempt_at, next_attempt_at, transient_failures, failure, sent_at
from outbox_messages
where message_id = $message_id

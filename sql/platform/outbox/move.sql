-- Outbox messages to their new delivery states, each only if it is still in the state the move
-- expects (`expected`): a message `sending` counts one more attempt, one `sent` its time (a message
-- a person marks sent: when it was last handed over), one `retrying` its next attempt. `{table}`
-- and `{key}` as in platform/outbox/audit_moves.sql. Returns how many messages moved.
update {table} as t
set status = m.status,
    status_reason = m.reason,
    delivered_ref = coalesce(m.ref, t.delivered_ref),
    sent_at = case
        when m.status = 'sent' and t.status = 'unknown' then coalesce(t.last_attempt_at, $now)
        when m.status = 'sent' then $now
        else t.sent_at end,
    attempts = coalesce(t.attempts, 0) + case when m.status = 'sending' then 1 else 0 end,
    last_attempt_at = case when m.status = 'sending' then $now else t.last_attempt_at end,
    next_attempt_at = m.next_attempt_at,
    transient_failures = coalesce(m.transient_failures, t.transient_failures, 0),
    failure = m.failure
from outbox_moves m
where t.{key} = m.message_id and t.status = m.expected

-- Move one outbox message to a new delivery state.
update reminders
set status = $status,
    status_reason = $reason,
    delivered_ref = coalesce($ref, delivered_ref),
    sent_at = case when $status = 'sent' then $now else sent_at end,
    attempts = coalesce(attempts, 0) + case when $status = 'sending' then 1 else 0 end
where reminder_id = $reminder_id

-- Move one outbox message to a new delivery state.
update reminders
set status = $status, status_reason = $reason, delivered_ref = coalesce($ref, delivered_ref)
where reminder_id = $reminder_id

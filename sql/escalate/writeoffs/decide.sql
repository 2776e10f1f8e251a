-- Approve or reject a proposal (only while it is still proposed).
update write_offs
set status = $status, decided_by = $decided_by, decided_at = $now, decision_note = $note
where write_off_id = $write_off_id and status = 'proposed'

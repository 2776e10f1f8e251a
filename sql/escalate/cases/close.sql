-- Close an open case: resolved, rejected, kept or broken (only while it is open).
update cases
set status = $status, resolved_on = $resolved_on, resolved_by = $resolved_by, resolution = $resolution,
    credit_note_id = $credit_note_id
where case_id = $case_id and status = 'open'

-- Release a hold in force, with who, when and why.
update credit_holds
set status = 'released', released_on = $today, released_by = $by, release_reason = $reason
where hold_id = $hold_id and status = 'active'

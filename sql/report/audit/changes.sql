-- What one run changed in the ledger, row by row, from the audit log.
select audit_id, stage, entity, key, action, before, after, rule_version, created_at
from audit_log
where run_id = $run_id
order by audit_id

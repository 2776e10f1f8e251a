-- The audit row of a manual decision on one allocation: the row as JSON before (delete) or after
-- (insert), read from the table inside the same transaction as the change.
insert into audit_log (run_id, stage, entity, key, action, before, after, rule_version, created_at)
select
    $run_id,
    'reconcile',
    'allocations',
    a.allocation_id,
    $action,
    case when $action = 'delete' then to_json(a)::varchar end,
    case when $action = 'delete' then $decided_json else to_json(a)::varchar end,
    a.rule_version,
    $created_at::timestamp
from allocations a
where a.allocation_id = $allocation_id

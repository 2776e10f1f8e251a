-- The audit row of a case's change made by a stage (a promise kept or broken).
insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)
values ($run_id, $stage, $entity, $key, $action, $before, $after, $created_at)

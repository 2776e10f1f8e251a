-- Changes people made between runs (cash decisions, cases, holds, write-offs), up to a moment.
select run_id, stage, entity, key, action, created_at
from audit_log
where created_at <= $until
  and run_id not in (select run_id from stage_runs)
order by audit_id

-- Every stage run that finished up to a moment, oldest first: the history a replay runs again.
select run_id, stage, as_of, outcome, counts, coalesce(rule_version, '') as rule_version,
       coalesce(evidence, '{}') as evidence, finished_at
from stage_runs
where finished_at <= $until
order by finished_at

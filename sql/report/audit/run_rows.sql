-- Every stage record of one run (order_to_cash's stages each have their own run id), with its evidence.
select run_id, stage, as_of, coalesce(started_by, '') as started_by, outcome, counts,
       coalesce(rule_version, '') as rule_version, coalesce(evidence, '{}') as evidence, finished_at
from stage_runs
where run_id = $run_id
order by finished_at

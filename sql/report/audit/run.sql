-- One stage run's record, if it wrote one: its stage, outcome and counts.
select run_id, stage, as_of, outcome, counts
from stage_runs
where run_id = $run_id
order by finished_at desc
limit 1

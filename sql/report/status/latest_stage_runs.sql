-- The most recent run of each stage.
select stage, run_id, as_of, outcome, finished_at
from stage_runs
qualify row_number() over (partition by stage order by finished_at desc) = 1
order by stage

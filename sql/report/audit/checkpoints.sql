-- One run's checkpoint results, with each expectation's outcome.
select stage, dataset, source, contract_hash, outcome, rows_checked, rows_failed, details, created_at
from checkpoint_runs
where run_id = $run_id
order by created_at, dataset

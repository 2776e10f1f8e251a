-- The rows one run kept out of the ledger, with every reason.
select *
from quarantine
where run_id = $run_id
order by dataset, source, row_number

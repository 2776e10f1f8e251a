-- Rows kept out of the ledger, with every reason.
select stage, dataset, source, row_number, key, reasons, run_id, created_at
from quarantine
order by quarantine_id

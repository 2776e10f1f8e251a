-- The input batches a run saw: those it loaded (ingest), else every batch in the ledger when it
-- finished; each with its file fingerprint, row counts and control totals as read.
select batch_id, dataset, source, fingerprint, row_count, rows_loaded, rows_already_present,
       rows_quarantined, control_totals, run_id, loaded_at
from ingest_batches
where run_id = $run_id
   or (not $ingest and loaded_at <= $until)
order by loaded_at, batch_id

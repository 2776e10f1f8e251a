-- Payments loaded after the latest reconcile run that finished: until reconcile has run, a
-- reminder could chase an invoice that is already paid.
select
    (select max(loaded_at) from ingest_batches where dataset = 'payments' and rows_loaded > 0) as payments_loaded_at,
    (select max(finished_at) from stage_runs where stage = 'reconcile' and outcome in ('published', 'completed')) as reconciled_at

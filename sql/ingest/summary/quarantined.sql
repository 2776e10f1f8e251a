-- The rows of one file that ingest quarantined, with their reasons, per dataset.
select dataset, row_number, reasons from quarantine where stage = 'ingest' and source = $source

-- After a batch is published: how many of its checked rows were new, and how many the ledger held
-- already (the same rows from an earlier file add nothing).
with loaded as (
    select count(*) as n from (
        select batch_id from customers where batch_id = $batch_id
        union all select batch_id from orders where batch_id = $batch_id
        union all select batch_id from order_lines where batch_id = $batch_id
        union all select batch_id from invoices where batch_id = $batch_id
        union all select batch_id from payments where batch_id = $batch_id
    )
)

update ingest_batches
set rows_loaded = loaded.n,
    rows_already_present = row_count - rows_quarantined - loaded.n
from loaded
where ingest_batches.batch_id = $batch_id

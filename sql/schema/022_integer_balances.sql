-- Balances stay whole numbers of minor units: DuckDB sums BIGINT into HUGEINT, which a pandas read
-- turns into floats; the view casts its sums back to BIGINT.
create or replace view invoice_balances as
select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.issue_date,
    i.due_date,
    i.amount_minor,
    coalesce(a.allocated_minor, 0)::bigint as allocated_minor,
    coalesce(w.written_off_minor, 0)::bigint as written_off_minor,
    (i.amount_minor - coalesce(a.allocated_minor, 0) - coalesce(w.written_off_minor, 0))::bigint as open_minor
from invoices i
left join (
    select invoice_id, sum(amount_minor)::bigint as allocated_minor from allocations group by invoice_id
) a using (invoice_id)
left join (
    select invoice_id, sum(amount_minor)::bigint as written_off_minor from invoice_adjustments group by invoice_id
) w using (invoice_id);

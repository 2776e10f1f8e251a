-- The write-offs the escalation policy proposes, the whole batch in one statement (`update_rows`:
-- invoice_id, customer_id, currency, amount_minor, reason, o2c_position), never twice for one
-- invoice: an invoice with a proposal or an approved write-off already is left out, as is a second
-- row for one invoice. Numbered from the sequence in the order the policy gave them: one number is
-- drawn per new proposal (consecutive: the writer holds the ledger alone), then handed out by
-- position, so the numbers do not depend on the order the engine draws them in.
insert into write_offs (write_off_id, invoice_id, customer_id, currency, amount_minor, reason, source,
                        proposed_by, proposed_at, status, run_id)
with new as materialized (
    select r.*
    from update_rows r
    where not exists (select 1 from write_offs w
                      where w.invoice_id = r.invoice_id and w.status in ('proposed', 'approved'))
    qualify row_number() over (partition by r.invoice_id order by r.o2c_position) = 1
),
drawn as materialized (
    select min(number) as first_number from (select nextval('write_off_seq') as number from new)
)
select 'WO-' || lpad(cast(d.first_number + row_number() over (order by n.o2c_position) - 1 as varchar), 6, '0'),
       n.invoice_id, n.customer_id, n.currency, n.amount_minor, n.reason, 'policy', 'escalate stage', $now,
       'proposed', $run_id
from new n, drawn d

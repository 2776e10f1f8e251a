-- A write-off the escalation policy proposes (never twice for one invoice).
insert into write_offs (write_off_id, invoice_id, customer_id, currency, amount_minor, reason, source,
                        proposed_by, proposed_at, status, run_id)
select 'WO-' || lpad(cast(nextval('write_off_seq') as varchar), 6, '0'), $invoice_id, $customer_id, $currency,
       $amount_minor, $reason, 'policy', 'escalate stage', $now, 'proposed', $run_id
where not exists (select 1 from write_offs where invoice_id = $invoice_id and status in ('proposed', 'approved'))

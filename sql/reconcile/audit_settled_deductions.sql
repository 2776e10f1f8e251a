-- Audit the deduction cases that cash has now settled, before they are closed.
insert into audit_log (run_id, stage, entity, key, action, before, after, rule_version, created_at)
select
    $run_id, 'reconcile', 'cases', c.case_id, 'resolve',
    '{"status": "open"}', '{"status": "resolved", "reason": "the invoice has been paid in full"}',
    $rule_version, now()::timestamp
from cases c
join invoice_balances b using (invoice_id)
where c.kind = 'deduction' and c.status = 'open' and b.open_minor = 0

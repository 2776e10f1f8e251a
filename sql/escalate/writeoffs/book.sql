-- An approved write-off closes that much of the invoice's open amount.
insert into invoice_adjustments (adjustment_id, invoice_id, payment_id, kind, amount_minor, currency,
                                 reason, rule_version, as_of, run_id)
select w.write_off_id, w.invoice_id, null, 'write_off', w.amount_minor, w.currency,
       'write-off ' || w.write_off_id || ' approved by ' || w.decided_by || ': ' || w.reason,
       $rule_version, $as_of, $run_id
from write_offs w
where w.write_off_id = $write_off_id and w.status = 'approved'

-- The allocation with this id, or the one of this (payment, invoice) pair.
select allocation_id, payment_id, invoice_id, amount_minor, currency, rule, rule_version, decided_by
from allocations
where allocation_id = $allocation_id
   or (payment_id = $payment_id and invoice_id = $invoice_id)
order by allocation_id = $allocation_id desc
limit 1

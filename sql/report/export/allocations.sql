-- Every allocation of cash to an invoice, with the rule that made it and the run that wrote it.
select allocation_id, payment_id, invoice_id, amount_minor, currency, rule, run_id
from allocations
order by payment_id, invoice_id

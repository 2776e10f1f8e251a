-- o2c's allocations, each with the customer of its invoice: what a pilot compares with the legacy
-- process's applications of cash.
select a.payment_id, a.invoice_id, a.amount_minor, a.currency, a.rule, a.score, i.customer_id
from allocations a
left join invoices i using (invoice_id)
order by a.payment_id, a.invoice_id

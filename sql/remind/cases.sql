-- Disputes, deductions and promises to pay: an open one stops reminders for what it covers.
select case_id, kind, customer_id, coalesce(invoice_id, '') as invoice_id, status, due_on
from cases
where status = 'open'

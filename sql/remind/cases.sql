-- Disputes, deductions and promises to pay: an open one stops reminders for what it covers.
-- A case over several invoices (';'-separated) covers each of them.
select case_id, kind, customer_id, unnest(string_split(coalesce(invoice_id, ''), ';')) as invoice_id,
       status, due_on
from cases
where status = 'open'

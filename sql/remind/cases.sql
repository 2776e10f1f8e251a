-- Disputes, deductions and promises to pay: an open one stops reminders for what it covers.
-- A case over several invoices (';'-separated) covers each of them. In case order, so that an
-- invoice under two open cases is said to be held by the same one whatever order the ledger
-- keeps its rows in (a working copy made again from PostgreSQL keeps them in another).
select case_id, kind, customer_id, unnest(string_split(coalesce(invoice_id, ''), ';')) as invoice_id,
       status, due_on
from cases
where status = 'open'
order by case_id, invoice_id

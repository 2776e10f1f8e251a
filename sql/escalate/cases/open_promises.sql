-- Open promises to pay, with the invoices they cover (';'-separated; empty: the whole customer).
select case_id, customer_id, coalesce(invoice_id, '') as invoice_id, amount_minor, currency, opened_on, due_on
from cases
where kind = 'promise' and status = 'open'

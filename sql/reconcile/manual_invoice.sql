-- One invoice and what it still owes (amount less all cash allocated and all written off).
select invoice_id, customer_id, currency, amount_minor, open_minor
from invoice_balances
where invoice_id = $invoice_id

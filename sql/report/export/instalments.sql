-- The instalments of every invoice paid in parts: number, due date and amount.
select invoice_id, instalment, due_date, amount_minor, currency
from invoice_instalments
order by invoice_id, instalment

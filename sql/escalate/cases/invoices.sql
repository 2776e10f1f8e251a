-- The invoices a case names, with what is open on them now.
select invoice_id, customer_id, currency, open_minor, amount_minor
from invoice_balances
where invoice_id in (select unnest($ids))

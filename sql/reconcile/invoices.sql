-- Every invoice issued by the as-of date with its open amount now (paid invoices too, open 0, so
-- that a payment naming a paid invoice is recognised as such).
select invoice_id, customer_id, currency, due_date, open_minor
from invoice_balances
where issue_date <= $as_of

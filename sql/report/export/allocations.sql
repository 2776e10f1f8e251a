-- Every allocation of cash to an invoice, with the rule that made it and the run that wrote it:
-- what the invoice was paid (amount, currency) and what the payment gave for it (payment_amount,
-- payment_currency; another currency only when applied across currencies, at exchange_rate units
-- of the invoice's currency per unit of the payment's, quoted on rate_date).
select allocation_id, payment_id, invoice_id, amount_minor, currency,
       payment_amount_minor, payment_currency, exchange_rate, rate_date, rule, run_id
from allocations
order by payment_id, invoice_id

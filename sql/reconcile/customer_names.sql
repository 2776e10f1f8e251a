-- Customer names, for recognising a payer by name; in one order, so that a run reads them the same
-- way every time (names that tie are told apart by their place).
select customer_id, name from customers
order by customer_id

-- Customer names, for recognising a payer by name.
select customer_id, name from customers

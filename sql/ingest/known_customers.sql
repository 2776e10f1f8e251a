-- Customer ids the ledger holds: references in orders and invoices resolve against them.
select customer_id from customers

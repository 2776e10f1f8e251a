-- Orders the ledger holds with their currency: order lines are priced in it.
select order_id, currency from orders

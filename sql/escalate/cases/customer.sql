-- The customer a case is opened for.
select customer_id, currency from customers where customer_id = $customer_id

-- The customer a hold is for, and the holds in force on it.
select c.customer_id,
       (select count(*) from credit_holds h where h.customer_id = c.customer_id and h.status = 'active') as active
from customers c where c.customer_id = $customer_id

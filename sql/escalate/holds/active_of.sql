-- The holds in force on a customer (or the one named).
select hold_id, customer_id, coalesce(currency, '') as currency, placed_on, placed_by, placed_reason
from credit_holds
where status = 'active' and (hold_id = $hold_id or customer_id = $customer_id)
order by hold_id

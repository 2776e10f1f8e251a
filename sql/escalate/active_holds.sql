-- Holds in force.
select hold_id, customer_id, coalesce(currency, '') as currency, placed_on, placed_by, placed_reason
from credit_holds where status = 'active'

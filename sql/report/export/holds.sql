-- Credit holds for the order system: every hold in force, and every hold released, with who, when and why.
select hold_id, customer_id, coalesce(currency, '') as currency, status, placed_on, placed_by, placed_reason,
       released_on, released_by, release_reason
from credit_holds
order by status, customer_id, hold_id

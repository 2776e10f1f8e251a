-- Every customer with what a run can be limited by: its legal entity ('' or none: `default`) and
-- its segment.
select customer_id,
       coalesce(nullif(legal_entity, ''), 'default') as entity,
       coalesce(segment, '') as segment
from customers
order by customer_id

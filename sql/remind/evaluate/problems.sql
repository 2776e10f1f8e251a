-- Customers with something open who name a dunning profile the policy does not have (the first
-- row of each customer counts), by customer.
select c.customer_id, c.dunning_profile
from (
    select customer_id, dunning_profile
    from customers_in
    qualify row_number() over (partition by customer_id order by _row) = 1
) c
where c.dunning_profile is not null and c.dunning_profile <> ''
  and c.dunning_profile not in (select profile from ladder)
  and c.customer_id in (select customer_id from items_in where open_minor > 0)
order by c.customer_id

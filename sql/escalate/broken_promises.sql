-- Promises to pay broken in the 12 months before the date, per customer.
select customer_id, count(*) as broken_promises
from cases
where kind = 'promise' and status = 'broken'
  and resolved_on > cast($as_of as date) - interval 365 day and resolved_on <= $as_of
group by customer_id

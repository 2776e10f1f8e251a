-- Per customer and currency of the messages: the open amount, the interest and the highest level.
select customer_id, currency, any_value(profile) as profile, sum(open_minor)::bigint as open_minor,
       sum(interest_minor)::bigint as interest_minor, max(level) as level
from message_items
group by customer_id, currency
order by customer_id, currency

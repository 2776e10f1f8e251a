-- One message per customer: its level (the highest of its items) and that level's name, template
-- and whether a statement of account goes with it.
select m.customer_id, m.profile, m.level, l.level_name, l.template, l.attach_statement
from (
    select customer_id, any_value(profile) as profile, max(level) as level
    from message_items
    group by customer_id
) m
join ladder l using (profile, level)
order by m.customer_id

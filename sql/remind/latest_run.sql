-- Each customer's most recent reminder (not lost in delivery): what the previous run sent.
select customer_id, level, level_name, invoice_ids, as_of
from (
    select *, row_number() over (partition by customer_id order by as_of desc, level desc) as rn
    from reminders
    where status <> 'failed'
)
where rn = 1

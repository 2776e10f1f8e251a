-- The highest level each invoice has already been reminded at, and when its customer was last
-- reminded about it (messages that were not lost in delivery).
select ri.invoice_id, r.customer_id, max(ri.level) as last_level, max(r.as_of) as last_reminded_on
from reminder_items ri
join reminders r using (reminder_id)
where r.status <> 'failed'
group by ri.invoice_id, r.customer_id

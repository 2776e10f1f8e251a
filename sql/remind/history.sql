-- The highest level each invoice has already been reminded at (messages that were not lost).
select ri.invoice_id, max(ri.level) as last_level, max(r.as_of) as last_reminded_on
from reminder_items ri
join reminders r using (reminder_id)
where r.status <> 'failed'
group by ri.invoice_id

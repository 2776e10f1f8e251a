-- The highest level each invoice had been reminded at before the as-of date, and when its customer
-- was last reminded about it (messages that were not lost in delivery). Reminders of the date
-- itself are not history: they are what a run of that date decides, so a second run of the same
-- day decides the same again instead of reading its own output as an earlier reminder.
-- Bounded by what a run can use, so a year of daily runs does not carry every reminder ever sent:
-- the invoices open on the date (`open_invoices`, the caller's open items), whose last level caps
-- and dates their reminders, and any reminder from $since on (the as-of date less the policy's
-- longest wait between reminders), which is all the spacing rule can look at.
select ri.invoice_id, r.customer_id, max(ri.level) as last_level, max(r.as_of) as last_reminded_on
from reminder_items ri
join reminders r using (reminder_id)
where r.status <> 'failed'
  and r.as_of < $as_of
  and (r.as_of >= $since or ri.invoice_id in (select invoice_id from open_invoices))
group by ri.invoice_id, r.customer_id

-- The day each open invoice's interest has been charged up to: the date of the latest earlier
-- reminder that booked an interest charge (an `invoices` row of kind 'interest' charged by it) with
-- interest on that invoice. A later reminder charges only the interest grown since. Reminders of
-- the as-of date itself are not counted, as in remind/history: a second run of the day decides the
-- same again. Bounded by the invoices open on the date (`open_invoices`, the caller's open items).
select ri.invoice_id, max(r.as_of) as interest_through
from reminder_items ri
join reminders r using (reminder_id)
where ri.interest_minor > 0
  and r.as_of < $as_of
  and ri.invoice_id in (select invoice_id from open_invoices)
  and exists (select 1 from invoices c where c.charged_by = r.reminder_id and c.kind = 'interest')
group by ri.invoice_id

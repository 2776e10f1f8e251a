-- The reminder charges still open (fees and interest a reminder booked, among the caller's open
-- items `open_invoices`): open items that are never dunned themselves and bear no interest.
select invoice_id from invoices
where kind in ('fee', 'interest') and invoice_id in (select invoice_id from open_invoices)

-- The reminder charges (fees and interest a reminder booked): open items that are never dunned
-- themselves and bear no interest.
select invoice_id from invoices where kind in ('fee', 'interest')

-- The lines of the invoices of queued invoice e-mails.
select l.*
from invoice_lines l
join invoice_mails m using (invoice_id)
where m.status = 'queued'
order by l.invoice_id, l.line_no

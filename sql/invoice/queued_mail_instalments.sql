-- The instalments of the invoices of queued invoice e-mails.
select p.*
from invoice_instalments p
join invoice_mails m using (invoice_id)
where m.status = 'queued'
order by p.invoice_id, p.instalment

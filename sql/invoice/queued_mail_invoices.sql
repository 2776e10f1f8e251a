-- The invoices of queued invoice e-mails (to write again a document a crash lost before delivery).
select i.*
from invoices i
join invoice_mails m using (invoice_id)
where m.status = 'queued'
order by i.invoice_id

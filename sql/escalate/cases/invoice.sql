-- The disputed invoice, with its tax and its legal entity.
select b.invoice_id, b.customer_id, b.currency, b.open_minor, i.amount_minor, i.net_minor, i.tax_minor,
       coalesce(i.legal_entity, '') as legal_entity
from invoice_balances b join invoices i using (invoice_id)
where b.invoice_id = $invoice_id

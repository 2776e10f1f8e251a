-- The invoices named, as their documents show them.
select * from invoices where invoice_id in (select unnest($ids)) order by invoice_id

-- The instalments of the invoices named.
select * from invoice_instalments where invoice_id in (select unnest($ids)) order by invoice_id, instalment

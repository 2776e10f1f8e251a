-- The lines of the invoices named.
select * from invoice_lines where invoice_id in (select unnest($ids)) order by invoice_id, line_no

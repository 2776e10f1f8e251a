-- Invoices with a write-off proposed or approved: the policy never proposes one twice.
select distinct invoice_id from write_offs where status in ('proposed', 'approved')

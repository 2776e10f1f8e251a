-- Every invoice and credit note the invoice stage billed (each must have its document).
select invoice_id from invoices where origin = 'billed' order by invoice_id

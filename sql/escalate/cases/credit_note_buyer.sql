-- The buyer a credit note is made out to: the one its invoice was issued to (that invoice's
-- snapshot), else the customer master as it is now.
insert into invoice_buyers (invoice_id, customer_id, name, email, address, postcode, city, country, vat_id,
                            einvoice, buyer_reference, language, run_id)
select $invoice_id, b.customer_id, b.name, b.email, b.address, b.postcode, b.city, b.country, b.vat_id,
       b.einvoice, b.buyer_reference, b.language, $run_id
from invoice_buyers b where b.invoice_id = $credit_for_invoice
union all
select $invoice_id, c.customer_id, c.name, c.email, c.address, c.postcode, c.city, c.country, c.vat_id,
       c.einvoice, c.buyer_reference, coalesce(c.language, 'en'), $run_id
from customers c
where c.customer_id = $customer_id
  and not exists (select 1 from invoice_buyers b where b.invoice_id = $credit_for_invoice)

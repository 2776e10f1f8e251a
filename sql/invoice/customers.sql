-- How each customer is addressed on its invoices and their e-mails: name, language, e-mail, and the
-- postal address and VAT ID its documents print, and whether it asks for XRechnung.
select customer_id, name, coalesce(language, 'en') as language, email, address, postcode, city,
       country, vat_id, einvoice, buyer_reference
from customers

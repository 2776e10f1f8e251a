-- How each customer is addressed on its invoices and their e-mails: name, language, e-mail, and the
-- postal address and VAT ID its documents print.
select customer_id, name, coalesce(language, 'en') as language, email, address, postcode, city,
       country, vat_id
from customers

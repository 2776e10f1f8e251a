-- How each customer is addressed on its invoices and their e-mails: name, language and address.
select customer_id, name, coalesce(language, 'en') as language, email from customers

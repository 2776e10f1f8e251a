-- How each customer is addressed on its invoices: name and language.
select customer_id, name, coalesce(language, 'en') as language from customers

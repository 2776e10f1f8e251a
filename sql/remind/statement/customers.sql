-- The customers a statement is written to: name, language, postal address and legal entity.
select customer_id, name, coalesce(language, 'en') as language, address, postcode, city, country,
       vat_id, coalesce(legal_entity, '') as legal_entity
from customers
where customer_id in (select unnest($customers))

-- Who we write to, in which language, under which dunning profile, with which tags, and the legal
-- entity that writes (its name, address and account sign the reminder).
select customer_id, name, email, language, dunning_profile, coalesce(tags, '') as tags,
       coalesce(legal_entity, '') as legal_entity
from customers

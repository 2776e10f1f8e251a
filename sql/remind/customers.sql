-- Who we write to, in which language, under which dunning profile, with which tags.
select customer_id, name, email, language, dunning_profile, coalesce(tags, '') as tags from customers

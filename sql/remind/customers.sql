-- Who we write to, in which language, under which dunning profile.
select customer_id, name, email, language, dunning_profile from customers

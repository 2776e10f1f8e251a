-- Subscriptions begun by the as-of date, with their customer's payment terms and legal entity.
select s.subscription_id, s.customer_id, s.currency, s.plan, s.amount_minor, s.tax_rate_ppm, s.interval,
       s.start_date, s.end_date, c.payment_terms_days, coalesce(c.payment_terms, '') as payment_terms,
       coalesce(c.legal_entity, '') as legal_entity
from subscriptions s
join customers c using (customer_id)
where s.start_date <= $as_of
order by s.subscription_id

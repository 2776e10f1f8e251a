-- Fulfilled orders on or before the as-of date that no invoice bills yet, with their customer's terms
-- and the legal entity that bills them.
with billed as (
    select distinct order_id from invoices where order_id is not null
),

unbilled as (
    select o.order_id, o.customer_id, o.currency, o.fulfilled_date, o.credit_for
    from orders o
    anti join billed b on b.order_id = o.order_id
    where o.status = 'fulfilled' and o.fulfilled_date <= $as_of
)

select u.*, c.payment_terms_days, coalesce(c.payment_terms, '') as payment_terms,
       coalesce(c.legal_entity, '') as legal_entity
from unbilled u
join customers c using (customer_id)
order by u.fulfilled_date, u.order_id

-- Orders not billed yet (open, or fulfilled without an invoice) per customer and currency: part of
-- the credit exposure. The amount is BIGINT minor units (the sum cast back from DuckDB's HUGEINT).
with billed as (select distinct order_id from invoices where order_id is not null),
unbilled as (
    select o.order_id, o.customer_id, o.currency
    from orders o
    where o.status in ('open', 'fulfilled')
      and not exists (select 1 from billed b where b.order_id = o.order_id)
)
select u.customer_id, u.currency, sum(l.quantity * l.unit_price_minor
           + (l.quantity * l.unit_price_minor * l.tax_rate_ppm + 500000) // 1000000)::bigint as unbilled_minor
from unbilled u
join order_lines l using (order_id)
group by u.customer_id, u.currency

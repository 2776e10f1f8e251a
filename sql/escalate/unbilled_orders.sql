-- Orders not billed yet (open, or fulfilled without an invoice) per customer and currency: part of
-- the credit exposure.
with billed as (select distinct order_id from invoices where order_id is not null)
select o.customer_id, o.currency, sum(l.quantity * l.unit_price_minor
           + (l.quantity * l.unit_price_minor * l.tax_rate_ppm + 500000) // 1000000) as unbilled_minor
from orders o
join order_lines l using (order_id)
where o.status in ('open', 'fulfilled') and o.order_id not in (select order_id from billed)
group by o.customer_id, o.currency

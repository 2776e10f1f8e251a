-- The lines of the fulfilled, not yet billed orders.
with billed as (
    select distinct order_id from invoices where order_id is not null
)

select l.order_id, l.line_no, l.sku, l.description, l.quantity, l.unit_price_minor, l.tax_rate_ppm
from order_lines l
join orders o using (order_id)
anti join billed b on b.order_id = l.order_id
where o.status = 'fulfilled' and o.fulfilled_date <= $as_of
order by l.order_id, l.line_no

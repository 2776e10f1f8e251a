-- The invoice stage's floor: the fulfilled, unbilled orders as of the date, their lines priced
-- (net and tax per line in minor units, rounded half up), one numbered invoice per order with its
-- totals and due date, written into scratch tables the bench rolls back.
create temp table floor_lines as
with billed as (select distinct order_id from invoices where order_id is not null)
select l.order_id, l.line_no, l.quantity,
       round(l.quantity * l.unit_price_minor)::bigint as net_minor,
       round(l.quantity * l.unit_price_minor * l.tax_rate_ppm / 1000000.0)::bigint as tax_minor
from order_lines l
join orders o using (order_id)
anti join billed b on b.order_id = l.order_id
where o.status = 'fulfilled' and o.fulfilled_date <= $as_of;

create temp table floor_invoices as
with totals as (
    select l.order_id, sum(l.net_minor)::bigint as net_minor, sum(l.tax_minor)::bigint as tax_minor
    from floor_lines l
    group by l.order_id
)
select 'FLOOR-' || lpad((row_number() over (order by o.fulfilled_date, o.order_id))::varchar, 7, '0') as invoice_id,
       o.order_id, o.customer_id, o.currency, $as_of::date as issue_date,
       $as_of::date + to_days(c.payment_terms_days::integer) as due_date,
       t.net_minor, t.tax_minor, (t.net_minor + t.tax_minor)::bigint as amount_minor
from totals t
join orders o using (order_id)
join customers c using (customer_id);

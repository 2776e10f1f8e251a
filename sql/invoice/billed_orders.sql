-- The orders already billed that this run's credit notes may credit (the orders its fulfilled,
-- unbilled cancellations and returns name), with their invoice and what is open on it. Only those:
-- a year of billed orders is never read to bill one day's.
with billed as (
    select distinct order_id from invoices where order_id is not null
),

credited as (
    select distinct o.credit_for as order_id
    from orders o
    anti join billed b on b.order_id = o.order_id
    where o.status = 'fulfilled' and o.fulfilled_date <= $as_of and coalesce(o.credit_for, '') <> ''
),

originals as (
    select i.order_id, i.invoice_id, i.customer_id, i.currency, i.amount_minor
    from invoices i
    join credited c using (order_id)
    where coalesce(i.kind, 'invoice') = 'invoice'
)

select o.order_id, o.invoice_id, o.customer_id, o.currency,
       (o.amount_minor
        - coalesce((select sum(a.amount_minor) from allocations a where a.invoice_id = o.invoice_id), 0)
        - coalesce((select sum(j.amount_minor) from invoice_adjustments j where j.invoice_id = o.invoice_id), 0)
       )::bigint as open_minor
from originals o

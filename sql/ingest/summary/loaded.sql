-- What a file's batches put in the ledger: its customers, orders and order lines, and what the
-- invoice stage billed of those orders, on invoices and on credit notes (net, minor units).
with orders_of as (select order_id, currency from orders where batch_id = $orders_batch),
     lines_of as (select l.order_id, l.quantity * l.unit_price_minor as net_minor
                  from order_lines l where l.batch_id = $lines_batch),
     billed as (
         select coalesce(i.kind, 'invoice') as kind, l.order_id, l.net_minor
         from invoice_lines l join invoices i using (invoice_id)
         where l.order_id in (select order_id from orders_of)
     )
select 'customers' as what, count(*) as n, null::varchar as currency, null::hugeint as net_minor
from customers where batch_id = $customers_batch
union all
select 'orders', count(*), null, null from orders_of
union all
select 'order lines', count(*), min(o.currency), sum(l.net_minor)
from lines_of l join orders_of o using (order_id)
union all
select 'orders invoiced', count(distinct order_id), null, null from billed where kind = 'invoice'
union all
select 'lines on invoices', count(*), null, sum(net_minor) from billed where kind = 'invoice'
union all
select 'orders credited', count(distinct order_id), null, null from billed where kind = 'credit_note'
union all
select 'lines on credit notes', count(*), null, sum(net_minor) from billed where kind = 'credit_note'

-- The payments applied to the customers' invoices that were received after $since and by $as_of:
-- one row per customer and payment, with what it paid and which invoices (a statement's list).
select i.customer_id, p.payment_id, p.value_date, a.currency, coalesce(p.reference, '') as reference,
       sum(a.amount_minor)::bigint as applied_minor,
       string_agg(a.invoice_id, ', ' order by a.invoice_id) as invoices
from allocations a
join payments p using (payment_id)
join invoices i using (invoice_id)
where i.customer_id in (select unnest($customers))
  and p.value_date > $since and p.value_date <= $as_of
group by i.customer_id, p.payment_id, p.value_date, a.currency, p.reference
order by i.customer_id, p.value_date, p.payment_id

-- What explains a difference: the payments and invoices o2c knows, the exception queue's reasons,
-- and why the latest remind run left customers out.
select 'payment' as kind, payment_id as id, null as reason from payments
union all
select 'invoice', invoice_id, customer_id from invoices
union all
select 'exception', payment_id, reason from payment_exceptions
union all
select 'excluded', customer_id || '@' || cast(as_of as varchar), string_agg(distinct reason, '; ' order by reason)
from reminder_exclusions
group by customer_id, as_of
union all
select 'customer', customer_id, coalesce(segment, '') from customers

-- The items in a currency where the customer's unapplied cash covers what is overdue in it (among
-- the items still in the running): no reminder while the cash waits to be applied.
create or replace temp table hits as
with cash as (
    select customer_id, currency, coalesce(sum(unapplied_minor), 0)::bigint as cash_minor
    from unapplied_in
    group by customer_id, currency
),
overdue as (
    select customer_id, currency, sum(open_minor) as overdue_minor
    from remaining
    where days_past_due > 0
    group by customer_id, currency
),
covered as (
    select o.customer_id, o.currency, c.cash_minor
    from overdue o
    join cash c using (customer_id, currency)
    where c.cash_minor >= o.overdue_minor
)
select r._row, r.customer_id, r.invoice_id, 4 as step,
       'unapplied cash (' || c.cash_minor || ' minor units) covers the overdue amount' as reason,
       false as whole_customer
from remaining r
join covered c using (customer_id, currency)

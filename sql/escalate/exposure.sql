-- Per customer and currency of the open items (`open_items`, in the compute engine): the open
-- amount, the overdue amount, the oldest overdue item's days past due and the number of overdue
-- invoices (an invoice in instalments counts once), as of the date.
select customer_id, currency,
       sum(open_minor)::bigint as open_amount_minor,
       sum(case when days_past_due > 0 then open_minor else 0 end)::bigint as overdue_amount_minor,
       max(case when days_past_due > 0 then days_past_due else 0 end)::bigint as oldest_days_past_due,
       count(distinct case when days_past_due > 0 then invoice_id end)::bigint as overdue_invoices
from (
    select invoice_id, customer_id, currency, open_minor,
           cast(cast($as_of as date) - cast(due_date as date) as bigint) as days_past_due
    from open_items
    where open_minor > 0 and customer_id is not null and currency is not null
)
group by customer_id, currency
order by customer_id, currency

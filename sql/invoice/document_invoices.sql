-- The invoices named, as their documents show them: with the date of supply (the order's fulfilment)
-- or the period a subscription invoice bills.
select i.*, o.fulfilled_date as delivery_date, p.period_start, p.period_end
from invoices i
left join orders o on o.order_id = i.order_id
left join subscription_periods p on p.invoice_id = i.invoice_id
where i.invoice_id in (select unnest($ids))
order by i.invoice_id

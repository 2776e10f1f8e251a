-- Which datasets the ledger holds any row of: a source's keys are looked up in the ledger only
-- where it can repeat one.
select 'customers' as dataset, exists (select 1 from customers) as held
union all select 'subscriptions', exists (select 1 from subscriptions)
union all select 'orders', exists (select 1 from orders)
union all select 'order_lines', exists (select 1 from order_lines)
union all select 'invoices', exists (select 1 from invoices)
union all select 'payments', exists (select 1 from payments)
union all select 'cases', exists (select 1 from cases)

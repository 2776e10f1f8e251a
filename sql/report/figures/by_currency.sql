-- Per currency of the open items (`items`, in the compute engine) as of the date: the receivables
-- (positive open amounts), those not yet due, the open invoices, the credit sales of the period
-- (invoices issued after $period_start) and the earliest invoice date.
select currency,
       coalesce(sum(open_minor) filter (where open_minor > 0), 0)::hugeint as open_minor,
       coalesce(sum(open_minor) filter (where open_minor > 0 and due_date >= cast($as_of as date)), 0)::hugeint
           as current_minor,
       count(distinct invoice_id) filter (where open_minor > 0) as open_invoices,
       coalesce(sum(amount_minor) filter (where issue_date > cast($period_start as date)), 0)::hugeint
           as sales_minor,
       min(issue_date) as earliest_issue
from items
where currency is not null
group by currency
order by currency

-- Per currency, the invoices billed between $month_start and $month_end (the first row of each
-- invoice with a positive amount), and how many of them were not settled within 90 days of their
-- invoice date.
with invoice as (
    select invoice_id, currency, issue_date
    from items
    where amount_minor > 0
    qualify row_number() over (partition by invoice_id order by _row) = 1
)
select i.currency, count(*) as billed,
       count(*) filter (where s.settled_on is null or cast(s.settled_on as date) > i.issue_date + 90) as unpaid
from invoice i
left join settled s using (invoice_id)
where i.issue_date >= cast($month_start as date) and i.issue_date <= cast($month_end as date)
  and i.currency is not null
group by i.currency
order by i.currency

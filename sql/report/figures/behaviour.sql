-- How the invoices settled by the date were paid, per currency: how many, their amount, the days
-- from invoice date to settlement, the days late (0 when on time), how many were late, and the days
-- late weighted by amount; exact sums.
select currency, count(*) as settled, sum(amount_minor)::hugeint as amount_minor,
       sum(to_settle)::hugeint as to_settle, sum(late)::hugeint as late,
       count(*) filter (where late > 0) as paid_late, sum(late::hugeint * amount_minor) as weighted
from (
    select currency, amount_minor,
           cast(settled_on as date) - cast(issue_date as date) as to_settle,
           greatest(cast(settled_on as date) - cast(due_date as date), 0) as late
    from settled
    where currency is not null
)
group by currency
order by currency

-- Per customer, from the invoices settled (`settled`, in the compute engine) after $since (all of
-- them when null): the days each was paid late (early or on time: 0) weighted by its amount, the
-- amount and the number of invoices. The sums are exact; the average is taken by the caller.
select customer_id,
       sum(greatest(cast(settled_on as date) - cast(due_date as date), 0)::hugeint * amount_minor)::double
           as weighted,
       sum(amount_minor)::double as amount,
       count(*) as settled_invoices
from settled
where customer_id is not null
  and ($since is null or cast(settled_on as date) > cast($since as date))
group by customer_id
order by customer_id

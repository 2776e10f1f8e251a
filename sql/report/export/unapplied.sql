-- Payments with cash not (yet) applied to any invoice.
with applied as (
    select payment_id, sum(payment_amount_minor) as applied_minor from allocations group by payment_id
)

select
    p.payment_id,
    p.value_date,
    p.currency,
    p.amount_minor,
    p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_amount_minor
from payments p
left join applied a using (payment_id)
where p.amount_minor - coalesce(a.applied_minor, 0) > 0
order by p.value_date, p.payment_id

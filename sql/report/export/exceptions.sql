-- The exception queue: payments reconcile could not apply with confidence, with the cash they still
-- have unapplied now (amount less all allocations, manual ones included) and reconcile's suggestions.
with applied as (
    select payment_id, sum(payment_amount_minor) as applied_minor from allocations group by payment_id
)

select
    e.payment_id,
    p.value_date,
    p.currency,
    p.amount_minor,
    p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_minor,
    p.payer_name,
    p.reference,
    e.reason,
    e.suggestions,
    e.as_of
from payment_exceptions e
join payments p using (payment_id)
left join applied a using (payment_id)
order by p.value_date, e.payment_id

-- Payments received on or before the as-of date with cash not yet applied to any invoice, and the
-- customer the latest run held each on account for (held_for; null when it was not).
with applied as (
    select payment_id, sum(payment_amount_minor) as applied_minor
    from allocations
    group by payment_id
)

select
    p.payment_id,
    p.value_date,
    p.currency,
    p.amount_minor,
    p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_minor,
    p.payer_name,
    p.payer_account,
    p.reference,
    p.creditor_reference,
    p.end_to_end_id,
    h.customer_id as held_for
from payments p
left join applied a using (payment_id)
left join cash_on_account h using (payment_id)
where p.value_date <= $as_of
  and p.amount_minor - coalesce(a.applied_minor, 0) > 0
order by p.value_date, p.payment_id

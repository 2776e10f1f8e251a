-- Cash held on account: payments of known customers that fit no open invoice (advances, what is left
-- of an overpayment), with the cash they still have unapplied now and the customer they are held for.
with applied as (
    select payment_id, sum(payment_amount_minor) as applied_minor from allocations group by payment_id
)

select
    h.payment_id,
    h.customer_id,
    p.value_date,
    p.currency,
    p.amount_minor,
    p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_minor,
    p.payer_name,
    p.reference,
    h.reason,
    h.as_of
from cash_on_account h
join payments p using (payment_id)
left join applied a using (payment_id)
where p.amount_minor - coalesce(a.applied_minor, 0) > 0
order by h.customer_id, p.value_date, h.payment_id

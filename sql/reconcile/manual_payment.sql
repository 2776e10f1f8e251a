-- One payment and the cash it has not yet applied to any invoice (amount less all its allocations).
select
    p.payment_id,
    p.currency,
    p.amount_minor,
    p.amount_minor - coalesce((
        select sum(a.payment_amount_minor) from allocations a where a.payment_id = p.payment_id
    ), 0) as unapplied_minor,
    p.payer_account,
    p.value_date
from payments p
where p.payment_id = $payment_id

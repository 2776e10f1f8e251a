-- The invoices each payment with cash left has already paid: reconcile never pairs them twice, and
-- says so when the rest of such a payment waits in the exception queue.
select a.payment_id, a.invoice_id
from allocations a
join payments p using (payment_id)
where p.value_date <= $as_of
  and p.amount_minor > (select sum(b.payment_amount_minor) from allocations b where b.payment_id = p.payment_id)

-- Take a payment off the exception queue once all of its cash is applied.
delete from payment_exceptions
where payment_id = $payment_id
  and (
      select p.amount_minor - coalesce((
          select sum(a.payment_amount_minor) from allocations a where a.payment_id = p.payment_id
      ), 0)
      from payments p
      where p.payment_id = $payment_id
  ) = 0

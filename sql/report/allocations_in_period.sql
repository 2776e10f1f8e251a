-- Cash applied from payments received in the period, by how it was applied (a person or a rule).
select a.invoice_id, a.rule, a.amount_minor, a.currency, p.value_date
from allocations a join payments p using (payment_id)
where p.value_date > cast($as_of as date) - to_days(cast($period_days as integer)) and p.value_date <= $as_of

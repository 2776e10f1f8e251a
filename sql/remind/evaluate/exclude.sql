-- Record the hits as exclusions (one row without an invoice for a customer left out whole) and
-- take their items out of the running.
insert into excluded
select distinct on (customer_id, case when whole_customer then '' else invoice_id end,
                    case when whole_customer then 0 else _row end)
       step, _row, customer_id, case when whole_customer then '' else invoice_id end as invoice_id, reason
from hits
order by customer_id, case when whole_customer then '' else invoice_id end,
         case when whole_customer then 0 else _row end, _row

-- Every exclusion made, by customer and invoice (a customer left out whole first).
select customer_id, invoice_id, reason
from excluded
order by customer_id, invoice_id, step, _row

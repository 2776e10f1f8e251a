-- Payments not yet reconciled: every customer is left out, with the reason given.
create or replace temp table hits as
select _row, customer_id, invoice_id, 0 as step, $why as reason, true as whole_customer
from remaining

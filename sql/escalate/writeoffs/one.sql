-- One write-off, with its invoice's open amount now.
select w.*, b.open_minor
from write_offs w
left join invoice_balances b using (invoice_id)
where w.write_off_id = $write_off_id

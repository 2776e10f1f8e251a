-- Every write-off, newest first, with its invoice's open amount now.
select w.write_off_id, w.invoice_id, w.customer_id, w.currency, w.amount_minor, w.reason, w.source,
       w.proposed_by, w.proposed_at, w.status, w.decided_by, w.decided_at, w.decision_note,
       b.open_minor
from write_offs w
left join invoice_balances b using (invoice_id)
order by w.write_off_id desc

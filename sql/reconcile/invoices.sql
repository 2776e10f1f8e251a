-- Every invoice issued by the as-of date with its open amount now (paid invoices too, open 0, so
-- that a payment naming a paid invoice is recognised as such), and its early-payment discount terms.
select b.invoice_id, b.customer_id, b.currency, b.due_date, b.open_minor, b.amount_minor,
       i.discount_date, i.discount_amount_minor
from invoice_balances b
join invoices i using (invoice_id)
where b.issue_date <= $as_of

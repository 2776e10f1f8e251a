-- Every invoice with what it amounts to and what is still open on it: number, customer, dates,
-- currency, net, tax, total, open, and the early-payment discount its terms offer.
select b.invoice_id, b.customer_id, i.order_id, i.origin, b.issue_date, b.due_date, b.currency,
       i.net_minor, i.tax_minor, b.amount_minor as total_minor, b.open_minor,
       i.discount_date, i.discount_amount_minor
from invoice_balances b
join invoices i using (invoice_id)
order by b.issue_date, b.invoice_id

-- Every invoice with what it amounts to and what is still open on it: number, customer, dates,
-- currency, net, tax, total, open, the early-payment discount its terms offer, and whether it is an
-- invoice or a credit note (and which invoice that credits).
select b.invoice_id, b.customer_id, i.order_id, i.origin, b.issue_date, b.due_date, b.currency,
       i.net_minor, i.tax_minor, b.amount_minor as total_minor, b.open_minor,
       i.discount_date, i.discount_amount_minor, coalesce(i.kind, 'invoice') as kind, i.credit_for_invoice
from invoice_balances b
join invoices i using (invoice_id)
order by b.issue_date, b.invoice_id

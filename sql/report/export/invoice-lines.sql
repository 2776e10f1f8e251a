-- The lines of every invoice this product billed, as billed: quantity, unit price, tax rate
-- (parts per million: 19 % = 190000), net, tax and total per line.
select invoice_id, line_no, order_id, sku, description, quantity, unit_price_minor, tax_rate_ppm,
       net_minor, tax_minor, net_minor + tax_minor as total_minor, currency
from invoice_lines
order by invoice_id, line_no

-- Its one line.
insert into invoice_lines (invoice_id, line_no, order_id, sku, description, quantity, unit_price_minor,
                           tax_rate_ppm, net_minor, tax_minor, currency, run_id)
values ($invoice_id, 1, null, null, $description, -1, $unit_price_minor, $tax_rate_ppm, $net_minor, $tax_minor,
        $currency, $run_id)

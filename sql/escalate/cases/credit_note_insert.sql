-- The credit note a dispute was resolved with.
insert into invoices (invoice_id, customer_id, issue_date, due_date, currency, net_minor, tax_minor, amount_minor,
                      order_id, origin, batch_id, run_id, kind, credit_for_invoice, legal_entity)
values ($invoice_id, $customer_id, $issue_date, $issue_date, $currency, $net_minor, $tax_minor, $amount_minor,
        null, 'billed', null, $run_id, 'credit_note', $credit_for_invoice, $legal_entity)

-- A proposal.
insert into write_offs (write_off_id, invoice_id, customer_id, currency, amount_minor, reason, source,
                        proposed_by, proposed_at, status, run_id)
values ($write_off_id, $invoice_id, $customer_id, $currency, $amount_minor, $reason, $source,
        $proposed_by, $now, 'proposed', $run_id)

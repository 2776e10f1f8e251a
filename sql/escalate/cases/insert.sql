-- A case opened by a person.
insert into cases (case_id, kind, customer_id, invoice_id, payment_id, amount_minor, currency, reason_code,
                   reason_text, owner, opened_on, due_on, status, run_id)
values ($case_id, $kind, $customer_id, $invoice_id, null, $amount_minor, $currency, $reason_code,
        $reason_text, $owner, $opened_on, $due_on, 'open', $run_id)

-- What the credit note takes off the disputed invoice, and the same settled on the note.
insert into invoice_adjustments (adjustment_id, invoice_id, payment_id, kind, amount_minor, currency, reason,
                                 rule_version, as_of, run_id)
values ($adjustment_id, $invoice_id, null, 'credit_note', $amount_minor, $currency, $reason, 'case', $as_of, $run_id)

-- Payment-to-invoice matches people took back: reconcile does not make them again.
select payment_id, invoice_id from rejected_matches

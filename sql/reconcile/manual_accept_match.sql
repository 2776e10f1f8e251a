-- A person applied this pair themselves: it is no longer a rejected match.
delete from rejected_matches where payment_id = $payment_id and invoice_id = $invoice_id

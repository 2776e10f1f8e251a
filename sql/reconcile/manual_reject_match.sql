-- Remember that a person took this payment-to-invoice match back.
insert or replace into rejected_matches (payment_id, invoice_id, decided_by, run_id)
select payment_id, invoice_id, $decided_by, $run_id from allocations where allocation_id = $allocation_id

-- A hold placed by a person.
insert into credit_holds (hold_id, customer_id, currency, status, placed_on, placed_by, placed_reason, run_id)
values ($hold_id, $customer_id, null, 'active', $today, $by, $reason, $run_id)

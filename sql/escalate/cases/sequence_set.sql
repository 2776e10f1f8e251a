-- Move a series' last number on (the credit note takes the next number, without a gap).
insert or replace into invoice_sequences (series, year, last_number, run_id)
values ($series, $year, $last_number, $run_id)

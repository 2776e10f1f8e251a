-- Payments read from bank statements keep what the bank said about them.
alter table payments add column booking_date date;
alter table payments add column bank_reference varchar;
alter table payments add column end_to_end_id varchar;
alter table payments add column creditor_reference varchar;
alter table payments add column payer_bic varchar;
alter table payments add column bank_transaction_code varchar;
alter table payments add column statement_id varchar;

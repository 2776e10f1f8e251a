-- Cases managed by people: disputes, deductions and promises to pay, opened from cases.csv, by
-- reconcile (deductions) or by `o2c case open`; `invoice_id` may list several invoices
-- (';'-separated) or none (the whole customer). A promise ends kept or broken.
create sequence case_seq;
alter table cases add column resolved_on date;
alter table cases add column resolved_by varchar;
alter table cases add column resolution varchar;        -- the person's note, or how a promise ended
alter table cases add column credit_note_id varchar;    -- a dispute resolved with a credit note
alter table cases add column batch_id varchar;          -- cases.csv rows: the batch they came in

-- The next case number.
select 'CASE-' || lpad(cast(nextval('case_seq') as varchar), 6, '0') as case_id

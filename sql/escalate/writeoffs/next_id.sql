-- The next write-off number.
select 'WO-' || lpad(cast(nextval('write_off_seq') as varchar), 6, '0') as write_off_id

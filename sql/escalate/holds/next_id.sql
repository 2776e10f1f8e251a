-- The next hold number (holds placed by hand).
select 'HOLD-' || lpad(cast(nextval('hold_seq') as varchar), 6, '0') as hold_id

-- One case.
select * from cases where case_id = $case_id

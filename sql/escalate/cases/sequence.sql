-- The last number of one series and year.
select coalesce(max(last_number), 0) as last_number from invoice_sequences where series = $series and year = $year

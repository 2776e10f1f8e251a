-- The last invoice number used per series and year: numbering continues from here without gaps.
select series, year, last_number from invoice_sequences

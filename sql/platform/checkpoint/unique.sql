-- A contract's `key`: every row whose key another row of the batch holds too, the rows of one key
-- together, in the order of each key's first row (GX: expect_column_values_to_be_unique, or
-- expect_compound_columns_to_be_unique for a key of several columns: missing values count as equal
-- there, and a row whose key columns are all missing is not checked). `{columns}` are the key's
-- columns, `{all_missing}` says that all of them are missing and `{same_key}` compares the key of
-- `c` with that of `d`, all written by the code.
with duplicated as (
    select {columns}, min(o2c_row) as first_row
    from checked
    where not ({all_missing})
    group by {columns}
    having count(*) > 1
)
select c.o2c_row
from checked c
join duplicated d on {same_key}
order by d.first_row, c.o2c_row

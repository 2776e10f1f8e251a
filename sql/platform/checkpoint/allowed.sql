-- A contract's `allowed` values: the rows holding another value (GX: expect_column_values_to_be_in_set).
-- A missing value is not checked here (`required` is). `$values` are the contract's values.
select o2c_row from checked
where {column} is not null and not list_contains($values, {column})
order by o2c_row

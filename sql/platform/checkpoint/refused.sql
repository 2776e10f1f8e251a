-- A contract's `not` values: the rows holding one of them (GX: expect_column_values_to_not_be_in_set).
-- A missing value is not checked here (`required` is). `$values` are the contract's values.
select o2c_row from checked
where {column} is not null and list_contains($values, {column})
order by o2c_row

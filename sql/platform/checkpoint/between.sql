-- A contract's `min` / `max`: the rows whose value lies outside, bounds included in the range
-- (GX: expect_column_values_to_be_between). A missing value or bound is not checked here.
select o2c_row from checked
where {column} < $min_value or {column} > $max_value
order by o2c_row

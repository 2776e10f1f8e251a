-- A contract's row rule `a >= b` (or `a > b`): the rows where it does not hold, rows missing either
-- value left out (GX: expect_column_pair_values_a_to_be_greater_than_b, either_value_is_missing).
-- `{op}` is `>=` or `>`, chosen by the code.
select o2c_row from checked
where {a} is not null and {b} is not null and not ({a} {op} {b})
order by o2c_row

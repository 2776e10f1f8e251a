-- A contract's `required`: the rows whose value is missing (GX: expect_column_values_to_not_be_null).
-- `checked` is the batch (its contract's columns and `o2c_row`, each row's position in the batch);
-- `{column}` is a contract column, quoted by the code (tasks/platform/checkpoint_sql.py).
select o2c_row from checked where {column} is null order by o2c_row

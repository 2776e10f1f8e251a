-- A contract's `references`: the rows whose value is not a key of the referenced dataset (the
-- ledger's keys plus this batch's, handed over as `known_keys`). A missing value is not checked here.
select c.o2c_row from checked c
where c.{column} is not null
  and not exists (select 1 from known_keys k where k.key = c.{column})
order by c.o2c_row

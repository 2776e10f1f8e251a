-- The figures of every earlier report date, per currency (one snapshot per date and currency), of
-- the whole book ($entity '') or of one legal entity.
select as_of, currency, figures
from kpi_snapshots
where as_of <= $as_of and entity = $entity
order by as_of, currency

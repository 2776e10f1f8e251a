-- The figures of every earlier report date, per currency (one snapshot per date and currency).
select as_of, currency, figures
from kpi_snapshots
where as_of <= $as_of
order by as_of, currency

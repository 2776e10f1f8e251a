-- The DSO of every earlier report run, per date and currency (the latest run of each date).
select as_of, currency, figures
from kpi_snapshots
where as_of <= $as_of
qualify row_number() over (partition by as_of, currency order by run_id desc) = 1
order by as_of, currency

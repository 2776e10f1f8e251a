-- One KPI snapshot per report date and currency: the figures as the ledger stood on that date.
-- Until now every report run added its own rows, so running a date again added a copy, and the
-- DSO history picked "the latest" by run id, which is random. The copy kept of each date is the
-- one of the report run that finished last.
create table kpi_snapshots_by_date (
    run_id     varchar not null,
    as_of      date not null,
    currency   varchar not null,
    figures    varchar not null,   -- JSON of the report's figures for that currency
    primary key (as_of, currency)
);

insert into kpi_snapshots_by_date (run_id, as_of, currency, figures)
select k.run_id, k.as_of, k.currency, k.figures
from kpi_snapshots k
left join stage_runs s on s.run_id = k.run_id and s.stage = 'report'
qualify row_number() over (
    partition by k.as_of, k.currency order by s.finished_at desc nulls last, k.run_id desc
) = 1;

drop table kpi_snapshots;
alter table kpi_snapshots_by_date rename to kpi_snapshots;

-- One KPI snapshot per report date, currency and legal entity: a report run for one entity
-- (`o2c report --entity`, the report flow's `entity`) keeps its own figures beside the whole book's
-- instead of replacing them. `entity` is '' for the whole book (every entity), which is what every
-- snapshot stored until now was; an entity's key otherwise (`default` for customers without one).
create table kpi_snapshots_by_entity (
    run_id     varchar not null,
    as_of      date not null,
    currency   varchar not null,
    entity     varchar not null default '',
    figures    varchar not null,   -- JSON of the report's figures for that currency
    primary key (as_of, currency, entity)
);

insert into kpi_snapshots_by_entity (run_id, as_of, currency, entity, figures)
select run_id, as_of, currency, '', figures from kpi_snapshots;

drop table kpi_snapshots;
alter table kpi_snapshots_by_entity rename to kpi_snapshots;

-- Escalation v2: who collects from a customer, who owns the account, ratings, transitions that
-- say which state was left, a scored worklist per collector group, and credit holds.
alter table customers add column collector_group varchar;      -- the worklist a customer lands on
alter table customers add column account_owner varchar;        -- e-mail of the person who owns the account
alter table escalations add column previous_state varchar;     -- the state left on entered_on
alter table worklist add column collector_group varchar;
alter table worklist add column state varchar;
alter table worklist add column score double;
alter table worklist add column rating varchar;
alter table worklist add column overdue_invoices integer;
alter table worklist add column broken_promises integer;
alter table worklist add column open_cases integer;

create table customer_ratings (
    customer_id         varchar primary key,
    rating              varchar not null,     -- A-D; '' when nothing was settled in 12 months
    average_delay_days  double,               -- amount-weighted, days late (early counts as 0)
    settled_invoices    integer not null,
    as_of               date not null,
    run_id              varchar not null
);

create sequence hold_seq;
create table credit_holds (
    hold_id         varchar primary key,      -- 'HOLD-000001'
    customer_id     varchar not null,
    currency        varchar,                   -- the exposure that caused it; empty: by hand
    status          varchar not null,          -- 'active' or 'released'
    placed_on       date not null,
    placed_by       varchar not null,
    placed_reason   varchar not null,
    released_on     date,
    released_by     varchar,
    release_reason  varchar,
    run_id          varchar not null
);

create table owner_notices (
    mail_id        varchar primary key,        -- 'OWN-<customer>-<currency>-<state>-<date>'
    customer_id    varchar not null,
    recipient      varchar not null,
    subject        varchar not null,
    body_text      varchar using compression zstd not null,
    body_html      varchar using compression zstd not null,
    as_of          date not null,
    status         varchar not null,
    status_reason  varchar,
    delivered_ref  varchar,
    sent_at        timestamp,
    attempts       integer default 0,
    run_id         varchar not null
);

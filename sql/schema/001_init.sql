-- The ledger of receivables, first cut. Money is BIGINT minor units + a CHAR(3) currency.
-- Every row a stage writes carries the Prefect flow-run id that wrote it (run_id).

create table customers (
    customer_id         varchar primary key,
    name                varchar not null,
    email               varchar,
    country             varchar,
    currency            varchar not null,
    payment_terms_days  integer not null,
    credit_limit_minor  bigint,
    segment             varchar,
    dunning_profile     varchar not null,
    language            varchar not null,
    batch_id            varchar not null,
    run_id              varchar not null
);

create table customer_bank_accounts (
    customer_id  varchar not null,
    account      varchar not null,
    batch_id     varchar not null,
    run_id       varchar not null,
    primary key (customer_id, account)
);

create table orders (
    order_id        varchar primary key,
    customer_id     varchar not null,
    order_date      date not null,
    currency        varchar not null,
    status          varchar not null,
    fulfilled_date  date,
    batch_id        varchar not null,
    run_id          varchar not null
);

create table order_lines (
    order_id          varchar not null,
    line_no           integer not null,
    sku               varchar,
    description       varchar,
    quantity          bigint not null,
    unit_price_minor  bigint not null,
    tax_rate_ppm      integer not null,   -- tax rate in parts per million: 19 % = 190000
    batch_id          varchar not null,
    run_id            varchar not null,
    primary key (order_id, line_no)
);

create table invoices (
    invoice_id    varchar primary key,
    customer_id   varchar not null,
    issue_date    date not null,
    due_date      date not null,
    currency      varchar not null,
    net_minor     bigint,
    tax_minor     bigint,
    amount_minor  bigint not null,
    order_id      varchar,
    origin        varchar not null,     -- 'ingested' (billed elsewhere) or 'billed' (by the invoice stage)
    batch_id      varchar,
    run_id        varchar not null
);

create table invoice_sequences (
    series       varchar not null,
    year         integer not null,
    last_number  integer not null,
    run_id       varchar not null,
    primary key (series, year)
);

create table payments (
    payment_id     varchar primary key,
    value_date     date not null,
    amount_minor   bigint not null,
    currency       varchar not null,
    payer_name     varchar,
    payer_account  varchar,
    reference      varchar,
    batch_id       varchar not null,
    run_id         varchar not null
);

create table allocations (
    allocation_id  varchar primary key,
    payment_id     varchar not null,
    invoice_id     varchar not null,
    amount_minor   bigint not null,
    currency       varchar not null,
    rule           varchar not null,
    rule_version   varchar not null,
    score          double not null,
    evidence       varchar not null,
    as_of          date not null,
    run_id         varchar not null,
    unique (payment_id, invoice_id)
);

create table reminders (
    reminder_id    varchar primary key,
    customer_id    varchar not null,
    level          integer not null,
    level_name     varchar not null,
    invoice_ids    varchar not null,   -- sorted, ';'-separated: the invoice set of the message
    as_of          date not null,
    language       varchar not null,
    recipient      varchar,
    subject        varchar not null,
    body_text      varchar using compression zstd not null,   -- the message: zstd stores a day's
    body_html      varchar using compression zstd not null,   -- in 60 % of the space, written faster
    status         varchar not null,   -- queued, sending, sent, failed, unknown
    status_reason  varchar,
    delivered_ref  varchar,            -- outbox file or provider message id
    rule_version   varchar not null,
    run_id         varchar not null,
    unique (customer_id, level, invoice_ids)
);

create table reminder_items (
    reminder_id        varchar not null,
    invoice_id         varchar not null,
    level              integer not null,
    open_amount_minor  bigint not null,
    currency           varchar not null,
    days_past_due      integer not null,
    run_id             varchar not null,
    primary key (reminder_id, invoice_id)
);

create table escalations (
    customer_id         varchar not null,
    currency            varchar not null,
    state               varchar not null,
    entered_on          date not null,
    rule                varchar not null,
    rule_version        varchar not null,
    reason              varchar not null,
    run_id              varchar not null,
    primary key (customer_id, currency, entered_on, state)
);

create table worklist (
    customer_id             varchar not null,
    currency                varchar not null,
    reason                  varchar not null,
    open_amount_minor       bigint not null,
    overdue_amount_minor    bigint not null,
    oldest_days_past_due    integer not null,
    as_of                   date not null,
    rule                    varchar not null,
    run_id                  varchar not null,
    primary key (customer_id, currency)
);

create table kpi_snapshots (
    run_id     varchar not null,
    as_of      date not null,
    currency   varchar not null,
    figures    varchar not null,   -- JSON of the report's figures for that currency
    primary key (run_id, currency)
);

create table ingest_batches (
    batch_id           varchar primary key,   -- dataset + content fingerprint
    dataset            varchar not null,
    source             varchar not null,
    fingerprint        varchar not null,
    row_count          integer not null,
    rows_loaded        integer not null,
    rows_already_present integer not null,
    rows_quarantined   integer not null,
    control_totals     varchar not null,      -- JSON: currency -> amount in minor units, as read
    run_id             varchar not null,
    loaded_at          timestamp not null
);

create sequence quarantine_seq;
create table quarantine (
    quarantine_id  bigint primary key default nextval('quarantine_seq'),
    stage          varchar not null,
    dataset        varchar not null,
    source         varchar not null,
    row_number     integer,
    key            varchar,
    reasons        varchar not null,
    raw_record     varchar not null,   -- JSON of the row as read
    run_id         varchar not null,
    created_at     timestamp not null
);

create sequence checkpoint_seq;
create table checkpoint_runs (
    checkpoint_id   bigint primary key default nextval('checkpoint_seq'),
    run_id          varchar not null,
    stage           varchar not null,
    dataset         varchar not null,
    source          varchar not null,
    contract_hash   varchar not null,
    outcome         varchar not null,   -- passed, quarantined, halted
    rows_checked    integer not null,
    rows_failed     integer not null,
    details         varchar not null,   -- JSON: one entry per expectation
    created_at      timestamp not null
);

create table stage_runs (
    run_id       varchar not null,
    stage        varchar not null,
    as_of        date not null,
    outcome      varchar not null,
    counts       varchar not null,      -- JSON
    finished_at  timestamp not null,
    primary key (run_id, stage)
);

create sequence audit_seq;
create table audit_log (
    audit_id      bigint primary key default nextval('audit_seq'),
    run_id        varchar not null,
    stage         varchar not null,
    entity        varchar not null,
    key           varchar not null,
    action        varchar not null,
    before        varchar using compression zstd,   -- the rows as JSON text: zstd stores them in
    after         varchar using compression zstd,   -- about a third of the space of the default
    rule_version  varchar,
    created_at    timestamp not null
);

-- Subscriptions billed in advance, and the periods already billed (one invoice per period, never two).
create table subscriptions (
    subscription_id  varchar primary key,
    customer_id      varchar not null,
    plan             varchar,
    amount_minor     bigint not null,      -- net per period
    tax_rate_ppm     integer not null,
    currency         varchar not null,
    interval         varchar not null,     -- monthly, quarterly, yearly
    start_date       date not null,
    end_date         date,
    batch_id         varchar not null,
    run_id           varchar not null
);

create table subscription_periods (
    subscription_id  varchar not null,
    period_start     date not null,
    period_end       date not null,
    invoice_id       varchar not null,
    run_id           varchar not null,
    primary key (subscription_id, period_start)
);

alter table invoices add column subscription_id varchar;

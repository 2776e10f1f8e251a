-- Dunning: customer tags (`no-dunning` stops reminders), what a reminder charges, and why a
-- customer or invoice was left out of the latest remind run.
alter table customers add column tags varchar;                -- ';'-separated
alter table reminders add column profile varchar;
alter table reminders add column totals varchar;              -- JSON: currency -> open, interest, fee, total (minor units)
alter table reminders add column statement_csv varchar using compression zstd;  -- statement of account attached, where the level says so
alter table reminder_items add column interest_minor bigint;
alter table reminders add column sent_at timestamp;            -- when the mailer accepted it
alter table reminders add column attempts integer default 0;   -- deliveries tried

create table reminder_exclusions (
    as_of        date not null,
    customer_id  varchar not null,
    invoice_id   varchar not null,        -- '' when the whole customer is left out
    reason       varchar not null,
    run_id       varchar not null,
    primary key (customer_id, invoice_id, reason)
);

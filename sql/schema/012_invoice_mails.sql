-- The invoice e-mail: each invoice or credit note billed by the invoice stage is queued once, with
-- its PDF document attached at delivery, and delivered at most once like a reminder.
create table invoice_mails (
    mail_id        varchar primary key,    -- 'MAIL-' || invoice_id
    invoice_id     varchar not null unique,
    customer_id    varchar not null,
    language       varchar not null,
    recipient      varchar not null,
    subject        varchar not null,
    body_text      varchar using compression zstd not null,
    body_html      varchar using compression zstd not null,
    document       varchar not null,       -- the PDF attached, relative to $O2C_HOME
    as_of          date not null,
    status         varchar not null,       -- queued, sending, sent, failed, unknown
    status_reason  varchar,
    delivered_ref  varchar,
    sent_at        timestamp,
    attempts       integer default 0,
    run_id         varchar not null
);

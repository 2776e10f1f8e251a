-- The report e-mailed to a distribution list: one message per recipient and report date, the
-- report page and its JSON attached, delivered through the outbox at most once.
create table report_mails (
    mail_id        varchar primary key,        -- 'RPT-<as_of>-<recipient>'
    as_of          date not null,
    recipient      varchar not null,
    subject        varchar not null,
    body_text      varchar using compression zstd not null,
    body_html      varchar using compression zstd not null,
    document       varchar not null,           -- the report page, relative to $O2C_HOME
    attachment_json varchar not null,          -- the report's JSON
    status         varchar not null,
    status_reason  varchar,
    delivered_ref  varchar,
    sent_at        timestamp,
    attempts       integer default 0,
    run_id         varchar not null
);

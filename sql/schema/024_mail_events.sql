-- What the mail provider says became of each message (SendGrid's event webhook): delivered, bounced,
-- dropped, marked as spam... One row per event (SendGrid's sg_event_id: an event sent twice is kept
-- once), naming the message by its outbox kind and key where the message carried them.
create table mail_events (
    event_id     varchar primary key,
    kind         varchar,             -- reminder, invoice, notice, report: the outbox it came from
    message_ref  varchar,             -- the reminder_id, invoice_id, ... the message carried
    customer_id  varchar,
    email        varchar not null,
    event        varchar not null,    -- delivered, bounce, dropped, spamreport, deferred, open, ...
    reason       varchar,
    occurred_at  timestamp not null,
    received_at  timestamp not null
);

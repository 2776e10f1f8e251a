-- Retrying what failed for a passing reason. A delivery SendGrid answered 429 or 5xx (after the
-- mailer's own retries), or that could not reach it at all, is `retrying`: a later delivery run
-- sends it again once `next_attempt_at` has come, a bounded number of times, then it is `failed`
-- for good ("gave up after N attempts: ..."). A refusal (another 4xx, no address) is `failed` at
-- once. Only `unknown` (the request went out and no answer came) waits for a person.
--
-- Every outbox table gets the same four columns (each already has `attempts`, every hand-over to
-- the mailer ever, and `status_reason`, the reason of its latest state):
--   last_attempt_at     when it was last handed to the mailer
--   next_attempt_at     while `retrying`: not sent again before this moment
--   transient_failures  passing failures in a row since it was last queued (the schedule reads it)
--   failure             of a `retrying` or `failed` message: `transient` or `permanent`; a `failed`
--                       message that is `transient` was given up, and a person may queue it again

alter table reminders add column last_attempt_at timestamp;
alter table reminders add column next_attempt_at timestamp;
alter table reminders add column transient_failures integer default 0;
alter table reminders add column failure varchar;

alter table invoice_mails add column last_attempt_at timestamp;
alter table invoice_mails add column next_attempt_at timestamp;
alter table invoice_mails add column transient_failures integer default 0;
alter table invoice_mails add column failure varchar;

alter table owner_notices add column last_attempt_at timestamp;
alter table owner_notices add column next_attempt_at timestamp;
alter table owner_notices add column transient_failures integer default 0;
alter table owner_notices add column failure varchar;

alter table report_mails add column last_attempt_at timestamp;
alter table report_mails add column next_attempt_at timestamp;
alter table report_mails add column transient_failures integer default 0;
alter table report_mails add column failure varchar;

-- Messages that failed before this migration for a passing reason stay `failed` (they may be old:
-- a reminder is not sent weeks late by itself), marked `transient` so that a person can queue them
-- again with `o2c outbox retry`; every other failure was a refusal.
update reminders set failure = case when regexp_matches(status_reason, '^SendGrid answered (429|5[0-9][0-9])')
    then 'transient' else 'permanent' end where status = 'failed';
update invoice_mails set failure = case when regexp_matches(status_reason, '^SendGrid answered (429|5[0-9][0-9])')
    then 'transient' else 'permanent' end where status = 'failed';
update owner_notices set failure = case when regexp_matches(status_reason, '^SendGrid answered (429|5[0-9][0-9])')
    then 'transient' else 'permanent' end where status = 'failed';
update report_mails set failure = case when regexp_matches(status_reason, '^SendGrid answered (429|5[0-9][0-9])')
    then 'transient' else 'permanent' end where status = 'failed';

-- Every outbox message in one list, by the kind `o2c outbox` names (the SendGrid category).
create view outbox_messages as
select 'reminder' as kind, 'reminders' as entity, reminder_id as message_id, customer_id, recipient,
       subject, as_of, status, status_reason, attempts, last_attempt_at, next_attempt_at,
       transient_failures, failure, sent_at, delivered_ref
from reminders
union all
select 'invoice', 'invoice_mails', mail_id, customer_id, recipient,
       subject, as_of, status, status_reason, attempts, last_attempt_at, next_attempt_at,
       transient_failures, failure, sent_at, delivered_ref
from invoice_mails
union all
select 'escalation', 'owner_notices', mail_id, customer_id, recipient,
       subject, as_of, status, status_reason, attempts, last_attempt_at, next_attempt_at,
       transient_failures, failure, sent_at, delivered_ref
from owner_notices
union all
select 'report', 'report_mails', mail_id, null, recipient,
       subject, as_of, status, status_reason, attempts, last_attempt_at, next_attempt_at,
       transient_failures, failure, sent_at, delivered_ref
from report_mails;

-- Reminders of the period, by their business date (the remind run's as-of date), not by the
-- wall-clock moment the mailer took them: a run for 2026-03-31 made on 2026-12-06 counts in March,
-- and a re-run of a past date shows the same figure. Counted once issued, less those whose delivery
-- failed for good: the report is written before the delivery that sends the day's reminders, and a
-- reminder waiting on a retry or on a person (`unknown`) is still on its way.
select reminder_id, customer_id, level, as_of, status, sent_at
from reminders
where status <> 'failed'
  and cast(as_of as date) > cast($as_of as date) - to_days(cast($period_days as integer))
  and cast(as_of as date) <= $as_of

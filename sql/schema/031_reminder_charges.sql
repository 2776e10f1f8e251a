-- Reminder charges booked: a reminder's fee and the interest it charges become open items of the
-- customer (rows of `invoices` with kind 'fee' or 'interest', origin 'charge', no lines and no
-- VAT), which cash pays, the report counts and the journal books to fee and interest income.
-- `charged_by` is the reminder that charged it. `reminder_items.interest_from` is the day an
-- item's interest was counted from: its due date, or the day a booked charge last took its interest
-- up to, so each reminder charges only the interest grown since.
alter table invoices add column charged_by varchar;
alter table reminder_items add column interest_from date;

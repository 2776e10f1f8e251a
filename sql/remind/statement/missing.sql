-- The reminders due to be sent that carry a statement of account (their level says
-- `attach_statement`): the statement PDF is written for each before it is sent.
select reminder_id, customer_id, as_of
from reminders
where statement_csv is not null and status in ('queued', 'retrying')
order by reminder_id

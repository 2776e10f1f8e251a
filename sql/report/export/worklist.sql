-- The collector worklist of the latest escalate run: one list per collector group, highest score first.
select collector_group, customer_id, reason, open_amount_minor, currency, overdue_amount_minor,
       oldest_days_past_due, overdue_invoices, state, score, rating, broken_promises, open_cases, as_of
from worklist
order by collector_group, score desc, customer_id

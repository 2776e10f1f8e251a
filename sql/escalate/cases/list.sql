-- Every case, open ones first, then by due date.
select case_id, kind, customer_id, coalesce(invoice_id, '') as invoice_id, amount_minor, currency,
       reason_code, coalesce(reason_text, '') as reason_text, coalesce(owner, '') as owner, opened_on,
       due_on, status, resolved_on, coalesce(resolved_by, '') as resolved_by,
       coalesce(resolution, '') as resolution, coalesce(credit_note_id, '') as credit_note_id
from cases
order by status <> 'open', due_on nulls last, case_id

-- Cases as they stood on the date: opened by then, with how and when they ended if they had.
select case_id, kind, customer_id, invoice_id, amount_minor, currency, opened_on,
       case when status <> 'open' and resolved_on is not null and resolved_on <= $as_of then status else 'open' end
           as status_then,
       case when resolved_on is not null and resolved_on <= $as_of then resolved_on end as resolved_on
from cases
where opened_on <= $as_of

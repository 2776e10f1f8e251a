-- One dunning item per invoice from the open items (`open_items`, as report/open_items_as_of reads
-- them), by invoice: an invoice in instalments is dunned from its earliest open part's due date (the
-- last part's when none is open), for that part and every other part due by then or by the as-of
-- date, whichever is later (a part not yet due is not asked for).
with part as (
    select *,
           coalesce(min(case when open_minor > 0 then due_date end) over (partition by invoice_id),
                    max(due_date) over (partition by invoice_id)) as first_due
    from open_items
    where instalment is not null
),
rolled as (
    select invoice_id, first(customer_id order by instalment) as customer_id,
           first(currency order by instalment) as currency,
           first(issue_date order by instalment) as issue_date,
           any_value(first_due) as due_date,
           sum(amount_minor)::bigint as amount_minor,
           sum(case when due_date <= greatest(first_due, cast($as_of as date)) then open_minor else 0 end)::bigint
               as open_minor
    from part
    group by invoice_id
)
select invoice_id, customer_id, currency, issue_date, due_date, amount_minor, open_minor
from open_items
where instalment is null
union all
select invoice_id, customer_id, currency, issue_date, due_date, amount_minor, open_minor
from rolled
order by invoice_id

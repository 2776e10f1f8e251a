-- The items left alone before levels are capped, each with its reason and whether the whole
-- customer is left out: customers tagged no-dunning; customers whose e-mail address bounced (a
-- bounce, drop or spam report the mail provider sent back); invoices under an open dispute or deduction
-- case; invoices under a promise to pay still running (a promise naming no invoice covers the
-- whole customer). The first case listed for an invoice (or customer) is the one named.
create or replace temp table hits as
with first_row as (
    select customer_id, tags, bounced
    from customers_in
    qualify row_number() over (partition by customer_id order by _row) = 1
),
tagged as (
    select customer_id,
           case when list_contains(string_split(coalesce(tags, ''), ';'), 'no-dunning')
                then 'customer is tagged no-dunning'
                else 'address bounced (' || bounced || ')' end as why
    from first_row
    where list_contains(string_split(coalesce(tags, ''), ';'), 'no-dunning') or bounced is not null
),
open_case as (
    select * from cases_in where status = 'open'
),
dispute as (
    select invoice_id, case_id, kind
    from open_case
    where kind in ('dispute', 'deduction')
    qualify row_number() over (partition by invoice_id order by _row) = 1
),
promise as (
    select customer_id, invoice_id, cast(cast(due_on as date) as varchar) as until, _row
    from open_case
    where kind = 'promise' and cast(due_on as date) >= cast($as_of as date)
),
promise_invoice as (
    select invoice_id, until from promise where coalesce(invoice_id, '') <> ''
    qualify row_number() over (partition by invoice_id order by _row) = 1
),
promise_customer as (
    select customer_id, until from promise where coalesce(invoice_id, '') = ''
    qualify row_number() over (partition by customer_id order by _row) = 1
)
select r._row, r.customer_id, r.invoice_id,
       case
           when t.customer_id is not null then 1
           when d.case_id is not null then 2
           else 3
       end as step,
       case
           when t.customer_id is not null then t.why
           when d.case_id is not null then 'open ' || d.kind || ' case ' || d.case_id
           else 'promise to pay until ' || coalesce(pi.until, pc.until)
       end as reason,
       t.customer_id is not null as whole_customer
from reached r
left join tagged t using (customer_id)
left join dispute d using (invoice_id)
left join promise_invoice pi using (invoice_id)
left join promise_customer pc using (customer_id)
where t.customer_id is not null or d.case_id is not null or coalesce(pi.until, pc.until) is not null

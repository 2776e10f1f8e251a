-- Cash received on or before the as-of date and not yet applied, by the customer it came from: the
-- customer whose invoices the payment was partly applied to, else the owner of the payer account.
with applied as (
    select payment_id, sum(amount_minor) as applied_minor from allocations group by payment_id
),
applied_to as (
    select a.payment_id, min(i.customer_id) as customer_id
    from allocations a join invoices i using (invoice_id)
    group by a.payment_id
),
accounts as (
    select account, min(customer_id) as customer_id from (
        select upper(replace(account, ' ', '')) as account, customer_id from customer_bank_accounts
        union all
        select account, customer_id from payer_accounts
    ) group by account having count(distinct customer_id) = 1
)
select coalesce(t.customer_id, k.customer_id) as customer_id, p.currency,
       sum(p.amount_minor - coalesce(a.applied_minor, 0))::bigint as unapplied_minor
from payments p
left join applied a using (payment_id)
left join applied_to t using (payment_id)
left join accounts k on k.account = upper(replace(coalesce(p.payer_account, ''), ' ', ''))
where p.value_date <= $as_of
  and p.amount_minor - coalesce(a.applied_minor, 0) > 0
  and coalesce(t.customer_id, k.customer_id) is not null
group by 1, 2

-- Cash received on or before the as-of date and not yet applied, by the customer it came from: the
-- customer whose invoices the payment was partly applied to, else the owner of the payer account.
-- Only the payments with something left over are traced to a customer.
with applied as (
    select payment_id, sum(payment_amount_minor) as applied_minor from allocations group by payment_id
),
left_over as (
    select p.payment_id, p.currency, p.payer_account,
           p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_minor
    from payments p
    left join applied a using (payment_id)
    where p.value_date <= $as_of
      and p.amount_minor - coalesce(a.applied_minor, 0) > 0
),
applied_to as (
    select a.payment_id, min(i.customer_id) as customer_id
    from allocations a join invoices i using (invoice_id)
    where a.payment_id in (select payment_id from left_over)
    group by a.payment_id
),
accounts as (
    select account, min(customer_id) as customer_id from (
        select upper(replace(account, ' ', '')) as account, customer_id from customer_bank_accounts
        union all
        select account, customer_id from payer_accounts
    ) group by account having count(distinct customer_id) = 1
)
select coalesce(t.customer_id, k.customer_id) as customer_id, l.currency,
       sum(l.unapplied_minor)::bigint as unapplied_minor
from left_over l
left join applied_to t using (payment_id)
left join accounts k on k.account = upper(replace(coalesce(l.payer_account, ''), ' ', ''))
where coalesce(t.customer_id, k.customer_id) is not null
group by 1, 2

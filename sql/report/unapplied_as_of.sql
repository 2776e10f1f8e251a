-- Each payment's cash received by the as-of date and not applied by then, with whom it is held for
-- and the legal entity it belongs to: held on account of a known customer (`customer_id`: the
-- customer whose invoices the payment was partly applied to, else the only owner of the payer
-- account), or not yet traced to anyone (null: it waits in the exception queue). Each payment's rest
-- belongs to one entity, so the entities' figures add up to the whole: the entity of the invoices it
-- paid (of two, the one it paid most, then the first by name), else the one of its memberships (the
-- bank that received it, else its payer's customer; the first by name; `entity_members`, registered
-- by the caller from report/entity_members), else the entity of the customer it is held for, else
-- `default`. The report sums it per currency (the cash on account and the unidentified cash, of one
-- entity with `o2c report --entity`); the journal books each payment's rest in this entity, so the
-- journal's unapplied cash of an entity is the report's.
with applied as (
    -- cash counts as applied from its value date, or from its invoice's date when the cash came
    -- first (an advance until the invoice exists, as the journal books it)
    select a.payment_id, sum(a.payment_amount_minor) as applied_minor
    from allocations a join payments p using (payment_id) join invoices i using (invoice_id)
    where greatest(p.value_date, i.issue_date) <= $as_of
    group by a.payment_id
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
),
paid_most as (
    select a.payment_id, m.entity
    from allocations a
    join entity_members m on m.kind = 'invoice' and m.id = a.invoice_id
    where a.payment_id in (select payment_id from left_over)
    group by a.payment_id, m.entity
    qualify row_number() over (partition by a.payment_id order by sum(a.payment_amount_minor) desc, m.entity) = 1
),
member as (
    select id as payment_id, min(entity) as entity from entity_members where kind = 'payment' group by id
),
held as (
    select l.payment_id, l.currency, l.unapplied_minor, coalesce(t.customer_id, k.customer_id) as customer_id,
           coalesce(d.entity, m.entity, c.entity, 'default') as entity
    from left_over l
    left join applied_to t using (payment_id)
    left join accounts k on k.account = upper(replace(coalesce(l.payer_account, ''), ' ', ''))
    left join paid_most d using (payment_id)
    left join member m using (payment_id)
    left join entity_members c on c.kind = 'customer' and c.id = coalesce(t.customer_id, k.customer_id)
)
select payment_id, currency, unapplied_minor::bigint as unapplied_minor, customer_id, entity
from held
order by payment_id

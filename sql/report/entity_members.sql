-- Which legal entity each customer, invoice and payment belongs to, for a view of one entity:
-- a customer by the master's legal_entity ('' or none: `default`); an invoice by its own, else its
-- customer's; a payment by the invoices it paid, else by the entity whose bank received it
-- (`entity_accounts`, registered by the caller from rules/entities.yaml), else by its payer's
-- customer. A payment that paid invoices of two entities belongs to both.
with customer_entity as (
    select customer_id, coalesce(nullif(legal_entity, ''), 'default') as entity from customers
),
invoice_entity as (
    select i.invoice_id, coalesce(nullif(i.legal_entity, ''), c.entity, 'default') as entity
    from invoices i left join customer_entity c using (customer_id)
),
paid as (
    select distinct a.payment_id, e.entity from allocations a join invoice_entity e using (invoice_id)
),
received as (
    select p.payment_id, e.entity
    from payments p
    join entity_accounts e on starts_with(upper(replace(coalesce(p.account, ''), ' ', '')), e.account)
    where p.payment_id not in (select payment_id from paid)
),
by_payer as (
    select distinct p.payment_id, c.entity
    from payments p
    join customer_bank_accounts b on upper(replace(b.account, ' ', '')) = upper(replace(coalesce(p.payer_account, ''), ' ', ''))
    join customer_entity c on c.customer_id = b.customer_id
    where p.payment_id not in (select payment_id from paid)
      and p.payment_id not in (select payment_id from received)
)
select 'customer' as kind, customer_id as id, entity from customer_entity
union all select 'invoice', invoice_id, entity from invoice_entity
union all select 'payment', payment_id, entity from paid
union all select 'payment', payment_id, entity from received
union all select 'payment', payment_id, entity from by_payer

-- The journal: every money event of the ledger as balanced double-entry lines, posted on its
-- business date. `accounts` (registered by the caller) is the account map: entity, role, rate_ppm
-- (revenue and tax_payable per rate; null: `other`) and account; an entity it does not name books
-- to the `default` entity's accounts.
--
--   invoice / credit note (issue date): receivable; revenue and output VAT per rate of its lines
--     (an invoice without lines, imported: revenue and VAT at `other`; what lines do not explain of
--     the amount, revenue at `other`)
--   payment (value date): bank against unapplied cash, in the entity of the invoices it paid (the
--     rest in the entity whose bank account received it, `entity_accounts` registered by the caller
--     from rules/entities.yaml, else in its payer's entity, else `default`)
--   allocation (the payment's value date, as the report counts it, or the invoice's date when the
--     cash came first; recorded_on: the run that made it): unapplied cash against the receivable
--   adjustment (its date): early-payment discount, small difference, write-off or credit note set
--     against its invoice, against the receivable
-- Signed amounts: positive is a debit, negative a credit.
with inv as (
    select i.invoice_id, i.customer_id, i.currency, i.issue_date, i.amount_minor, i.tax_minor,
           coalesce(i.kind, 'invoice') as kind, i.run_id,
           coalesce(nullif(i.legal_entity, ''), nullif(c.legal_entity, ''), 'default') as entity
    from invoices i
    left join customers c using (customer_id)
),

per_rate as (
    select invoice_id, tax_rate_ppm, sum(net_minor)::bigint as net, sum(tax_minor)::bigint as tax
    from invoice_lines
    group by invoice_id, tax_rate_ppm
),

explained as (
    select invoice_id, sum(net + tax)::bigint as total from per_rate group by invoice_id
),

invoice_lines_signed as (
    select inv.entity, inv.issue_date as posting_date, inv.issue_date as recorded_on,
           inv.kind as document_type, inv.invoice_id as document_id, inv.customer_id, inv.currency,
           inv.run_id, null::varchar as rule_version, 'receivable' as role, null::integer as rate_ppm,
           inv.amount_minor as signed, inv.kind || ' ' || inv.invoice_id as description
    from inv
    union all
    select inv.entity, inv.issue_date, inv.issue_date, inv.kind, inv.invoice_id, inv.customer_id,
           inv.currency, inv.run_id, null, 'revenue', r.tax_rate_ppm, -r.net,
           inv.kind || ' ' || inv.invoice_id || ': revenue'
    from inv join per_rate r using (invoice_id)
    where r.net <> 0
    union all
    select inv.entity, inv.issue_date, inv.issue_date, inv.kind, inv.invoice_id, inv.customer_id,
           inv.currency, inv.run_id, null, 'tax_payable', r.tax_rate_ppm, -r.tax,
           inv.kind || ' ' || inv.invoice_id || ': VAT'
    from inv join per_rate r using (invoice_id)
    where r.tax <> 0
    -- imported invoices (no lines): the VAT they give, and the rest as revenue
    union all
    select inv.entity, inv.issue_date, inv.issue_date, inv.kind, inv.invoice_id, inv.customer_id,
           inv.currency, inv.run_id, null, 'tax_payable', null, -inv.tax_minor,
           inv.kind || ' ' || inv.invoice_id || ': VAT'
    from inv left join explained e using (invoice_id)
    where e.invoice_id is null and coalesce(inv.tax_minor, 0) <> 0
    union all
    select inv.entity, inv.issue_date, inv.issue_date, inv.kind, inv.invoice_id, inv.customer_id,
           inv.currency, inv.run_id, null, 'revenue', null,
           -(inv.amount_minor - case when e.invoice_id is null then coalesce(inv.tax_minor, 0) else e.total end),
           inv.kind || ' ' || inv.invoice_id || ': revenue'
    from inv left join explained e using (invoice_id)
    where inv.amount_minor - case when e.invoice_id is null then coalesce(inv.tax_minor, 0) else e.total end <> 0
),

applied as (
    select a.allocation_id, a.payment_id, a.invoice_id, a.amount_minor, a.currency, a.as_of, a.run_id,
           a.rule_version, inv.entity, inv.customer_id,
           greatest(p.value_date, inv.issue_date) as value_date  -- never before its invoice
    from allocations a
    join inv using (invoice_id)
    join payments p using (payment_id)
),

payer as (
    select b.account, min(coalesce(nullif(c.legal_entity, ''), 'default')) as entity,
           min(c.customer_id) as customer_id, count(distinct c.customer_id) as customers
    from customer_bank_accounts b join customers c using (customer_id)
    group by b.account
),

receiving as (
    select p.payment_id, min(e.entity) as entity, count(distinct e.entity) as entities
    from payments p
    join entity_accounts e on starts_with(upper(replace(coalesce(p.account, ''), ' ', '')), e.account)
    group by p.payment_id
),

received_parts as (
    -- each payment split by the entities of the invoices it paid; the rest in its payer's entity
    select payment_id, entity, sum(amount_minor)::bigint as amount_minor, min(customer_id) as customer_id
    from applied group by payment_id, entity
    union all
    select p.payment_id,
           coalesce(case when g.entities = 1 then g.entity end, case when y.customers = 1 then y.entity end, 'default'),
           p.amount_minor - coalesce((select sum(a.amount_minor) from applied a where a.payment_id = p.payment_id), 0),
           case when y.customers = 1 then y.customer_id end
    from payments p
    left join payer y on y.account = p.payer_account
    left join receiving g using (payment_id)
),

received as (
    select payment_id, entity, sum(amount_minor)::bigint as amount_minor, min(customer_id) as customer_id
    from received_parts group by payment_id, entity
),

payment_lines_signed as (
    select r.entity, p.value_date as posting_date, p.value_date as recorded_on, 'payment' as document_type,
           p.payment_id as document_id, r.customer_id, p.currency, p.run_id, null::varchar as rule_version,
           role, null::integer as rate_ppm, case role when 'bank' then r.amount_minor else -r.amount_minor end,
           'payment ' || p.payment_id || ' received'
    from received r
    join payments p using (payment_id)
    cross join (values ('bank'), ('unapplied_cash')) roles(role)
    where r.amount_minor <> 0
),

allocation_lines_signed as (
    select entity, value_date, as_of, 'allocation', allocation_id, customer_id, currency, run_id, rule_version,
           role, null::integer, case role when 'unapplied_cash' then amount_minor else -amount_minor end,
           'payment ' || payment_id || ' applied to ' || invoice_id
    from applied
    cross join (values ('unapplied_cash'), ('receivable')) roles(role)
    where amount_minor <> 0
),

adjustment_lines_signed as (
    select inv.entity, greatest(j.as_of, inv.issue_date), j.as_of, j.kind, j.adjustment_id, inv.customer_id, j.currency, j.run_id,
           j.rule_version,
           case
               when side = 'receivable' then 'receivable'
               when j.kind = 'early_payment_discount' then 'cash_discount'
               when j.kind = 'small_difference' then 'small_difference'
               when j.kind = 'write_off' then 'write_off'
               when j.kind = 'credit_note' then 'credit_note_clearing'
               else 'unmapped adjustment kind ' || j.kind
           end,
           null::integer,
           case when side = 'receivable' then -j.amount_minor else j.amount_minor end,
           replace(j.kind, '_', ' ') || ' on ' || j.invoice_id
    from invoice_adjustments j
    join inv using (invoice_id)
    cross join (values ('counter'), ('receivable')) sides(side)
    where j.amount_minor <> 0
),

signed as (
    select * from invoice_lines_signed
    union all select * from payment_lines_signed
    union all select * from allocation_lines_signed
    union all select * from adjustment_lines_signed
),

mapped as (
    select s.*,
           case when s.entity in (select entity from accounts) then s.entity else 'default' end as map_entity
    from signed s
    where s.posting_date between cast($date_from as date) and cast($date_to as date)
      and ($entity is null or s.entity = $entity)
),

numbered as (
select m.entity, m.posting_date, m.recorded_on,
       case m.document_type when 'payment' then 'PAY' when 'allocation' then 'APP'
            when 'invoice' then 'INV' when 'credit_note' then 'CRN' else 'ADJ' end
           || ':' || m.document_id || case when m.document_type = 'payment' then '@' || m.entity else '' end
           as entry_id,
       coalesce(exact.account, other.account, single.account) as account,
       m.role,
       m.rate_ppm,
       greatest(m.signed, 0)::bigint as debit_minor,
       greatest(-m.signed, 0)::bigint as credit_minor,
       m.currency, m.customer_id, m.document_type, m.document_id, m.description, m.run_id, m.rule_version
from mapped m
left join accounts exact
    on exact.entity = m.map_entity and exact.role = m.role and m.rate_ppm is not null and exact.rate_ppm = m.rate_ppm
left join accounts other
    on other.entity = m.map_entity and other.role = m.role and other.rate_ppm is null
       and m.role in ('revenue', 'tax_payable')
left join accounts single
    on single.entity = m.map_entity and single.role = m.role and single.rate_ppm is null
       and m.role not in ('revenue', 'tax_payable')
where m.signed <> 0
)

select entity, posting_date, recorded_on, entry_id,
       (row_number() over (partition by entry_id order by debit_minor desc, account, role, rate_ppm))::integer
           as line_no,
       account, role, rate_ppm, debit_minor, credit_minor, currency, customer_id, document_type, document_id,
       description, run_id, rule_version
from numbered
order by posting_date, entry_id, line_no

-- The journal: every money event of the ledger as balanced double-entry lines, posted on its
-- business date. `accounts` (registered by the caller) is the account map: entity, role, rate_ppm
-- (revenue and tax_payable per rate; null: `other`) and account; an entity it does not name books
-- to the `default` entity's accounts. `functional` (entity, currency) is each map entity's
-- functional currency (null: none, the lines carry no functional amounts); `currency_exponents`
-- (currency, exponent) the decimals of each ISO 4217 currency.
--
--   invoice / credit note (issue date): receivable; revenue and output VAT per rate of its lines
--     (an invoice without lines, imported: revenue and VAT at `other`; what lines do not explain of
--     the amount, revenue at `other`)
--   reminder charge (issue date: the reminder's date; an `invoices` row of kind fee or interest,
--     no lines): receivable against fee_income or interest_income, no VAT (damages, not supplies);
--     cash applied to it and adjustments on it book as on any invoice
--   payment (value date): bank against unapplied cash, in the entity of the invoices it paid; the
--     rest in the entity the report counts it in (`unapplied_home`: payment_id, entity, customer_id,
--     registered by the caller from report/unapplied_as_of: the entity of the invoices it paid most,
--     else of the bank that received it, else of its payer's customer, else `default`)
--   allocation (the payment's value date, as the report counts it, or the invoice's date when the
--     cash came first; recorded_on: the run that made it): unapplied cash (what the payment gave,
--     its currency) against the receivable (what the invoice was paid, its currency); across
--     currencies each currency balanced through fx_clearing; in functional currency the difference
--     between the two sides is realised exchange gain or loss (fx_gain, fx_loss)
--   adjustment (its date): early-payment discount, small difference, write-off or credit note set
--     against its invoice, against the receivable; an early-payment discount also corrects the
--     output VAT (§ 17 UStG, Art. 90 VAT directive): `discount_vat` (adjustment_id, rate_ppm, vat),
--     registered by the caller from sql/report/journal/discount_vat.sql, its VAT per rate
-- Signed amounts: positive is a debit, negative a credit.
--
-- Functional amounts: a line's amount in its entity's functional currency, at the rate of the day
-- it is valued on (`valued_on`): the latest quote of `exchange_rates` on or before it, at most
-- $max_age_days old, crossed through the base currency as tasks/platform/fx.py does. Lines are
-- valued as running totals (`seq`): invoice and credit note entries line by line from the
-- receivable; the receivable of an invoice from its gross amount down (issue-date rate); a
-- payment's unapplied cash per entity (value-date rate). Each line is the difference of two
-- converted running totals (exact integers, rounded half up once each), so an entry balances and a
-- settled invoice's receivable ends at exactly 0. Derived lines (`derive`) take the entry's
-- other lines' functional amounts: the bank line and an adjustment's counter line balance the
-- entry, the fx_clearing lines carry the payment side's amount, the FX line the difference; a
-- discount's VAT lines are each converted on their own (issue-date rate), its net line balances.
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

sales as (
    select * from inv where kind not in ('fee', 'interest')
),

invoice_parts as (
    select inv.*, 'receivable' as role, null::integer as rate_ppm, inv.amount_minor as signed, '' as what
    from inv
    union all
    select sales.*, 'revenue', r.tax_rate_ppm, -r.net, ': revenue'
    from sales join per_rate r using (invoice_id)
    where r.net <> 0
    union all
    select sales.*, 'tax_payable', r.tax_rate_ppm, -r.tax, ': VAT'
    from sales join per_rate r using (invoice_id)
    where r.tax <> 0
    -- imported invoices (no lines): the VAT they give, and the rest as revenue
    union all
    select sales.*, 'tax_payable', null, -sales.tax_minor, ': VAT'
    from sales left join explained e using (invoice_id)
    where e.invoice_id is null and coalesce(sales.tax_minor, 0) <> 0
    union all
    select sales.*, 'revenue', null,
           -(sales.amount_minor - case when e.invoice_id is null then coalesce(sales.tax_minor, 0) else e.total end),
           ': revenue'
    from sales left join explained e using (invoice_id)
    where sales.amount_minor - case when e.invoice_id is null then coalesce(sales.tax_minor, 0) else e.total end <> 0
    -- a reminder's charge: the whole amount is income, no VAT
    union all
    select inv.*, case inv.kind when 'fee' then 'fee_income' else 'interest_income' end, null, -inv.amount_minor,
           case inv.kind when 'fee' then ': reminder fee' else ': interest' end
    from inv
    where inv.kind in ('fee', 'interest') and inv.amount_minor <> 0
),

invoice_lines_signed as (
    select entity, issue_date as posting_date, issue_date as recorded_on, kind as document_type,
           invoice_id as document_id, customer_id, currency, run_id, null::varchar as rule_version, role,
           rate_ppm, signed, kind || ' ' || invoice_id || what as description,
           issue_date as valued_on, currency as rate_currency, 'E:' || invoice_id as seq, 0::bigint as seq_offset,
           case when role = 'receivable' then 0 else 1 end as seq_rank, null::varchar as derive,
           currency as pair_currency
    from invoice_parts
),

applied as (
    select a.allocation_id, a.payment_id, a.invoice_id, a.amount_minor, a.currency,
           a.payment_amount_minor, a.payment_currency, a.as_of, a.run_id,
           a.rule_version, inv.entity, inv.customer_id, inv.issue_date, inv.amount_minor as invoice_minor,
           p.value_date as paid_on,
           greatest(p.value_date, inv.issue_date) as value_date  -- never before its invoice
    from allocations a
    join inv using (invoice_id)
    join payments p using (payment_id)
),

given as (
    -- what each payment has given, in its own currency
    select payment_id, sum(payment_amount_minor)::bigint as given_minor from applied group by payment_id
),

received_parts as (
    -- each payment split by the entities of the invoices it paid; the rest in the entity the report
    -- counts it in (`unapplied_home`), held for its customer there
    select payment_id, entity, sum(payment_amount_minor)::bigint as amount_minor, min(customer_id) as customer_id
    from applied group by payment_id, entity
    union all
    select p.payment_id, coalesce(h.entity, 'default'), p.amount_minor - coalesce(v.given_minor, 0), h.customer_id
    from payments p
    left join given v using (payment_id)
    left join unapplied_home h using (payment_id)
),

received as (
    select payment_id, entity, sum(amount_minor)::bigint as amount_minor, min(customer_id) as customer_id
    from received_parts group by payment_id, entity
),

payment_lines_signed as (
    select r.entity, p.value_date as posting_date, p.value_date as recorded_on, 'payment' as document_type,
           p.payment_id as document_id, r.customer_id, p.currency, p.run_id, null::varchar as rule_version,
           role, null::integer as rate_ppm, case role when 'bank' then r.amount_minor else -r.amount_minor end,
           'payment ' || p.payment_id || ' received', p.value_date, p.currency,
           case role when 'unapplied_cash' then 'U:' || p.payment_id || '@' || r.entity end, 0::bigint, 0,
           case role when 'bank' then 'balance' end, p.currency
    from received r
    join payments p using (payment_id)
    cross join (values ('bank'), ('unapplied_cash')) roles(role)
    where r.amount_minor <> 0
),

allocation_lines_signed as (
    -- unapplied cash in the payment's currency; the receivable in the invoice's; across currencies
    -- each side balanced through fx_clearing; `fx` (no amount in document currency) takes the
    -- exchange difference in functional currency
    select entity, value_date, as_of, 'allocation', allocation_id, customer_id,
           case when side in ('unapplied_cash', 'clear_out') then payment_currency else currency end,
           run_id, rule_version,
           case when side in ('clear_out', 'clear_in') then 'fx_clearing' else side end,
           null::integer,
           case side when 'unapplied_cash' then payment_amount_minor when 'receivable' then -amount_minor
                     when 'clear_out' then -payment_amount_minor when 'clear_in' then amount_minor else 0 end,
           'payment ' || payment_id || ' applied to ' || invoice_id,
           case when side in ('unapplied_cash', 'clear_out') then paid_on
                when side = 'receivable' then issue_date end,
           case when side in ('unapplied_cash', 'clear_out') then payment_currency
                when side = 'receivable' then currency end,
           case side when 'unapplied_cash' then 'U:' || payment_id || '@' || entity
                     when 'receivable' then 'R:' || invoice_id end,
           case side when 'receivable' then invoice_minor else 0 end::bigint,
           1,
           case when side in ('clear_out', 'clear_in') then side when side = 'fx' then 'balance' end,
           case when payment_currency = currency then currency else '*' end
    from applied
    cross join (values ('unapplied_cash'), ('receivable'), ('clear_out'), ('clear_in'), ('fx')) sides(side)
    where (amount_minor <> 0 or payment_amount_minor <> 0)
      and (side in ('unapplied_cash', 'receivable', 'fx') or payment_currency <> currency)
),

adjustment_lines_signed as (
    -- valued on both sides at the invoice's issue-date rate: no exchange difference
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
           case when side = 'receivable' then -j.amount_minor
                else j.amount_minor - coalesce((select sum(v.vat) from discount_vat v
                                                where v.adjustment_id = j.adjustment_id), 0) end,
           replace(j.kind, '_', ' ') || ' on ' || j.invoice_id,
           inv.issue_date, j.currency,
           case when side = 'receivable' then 'R:' || j.invoice_id end, inv.amount_minor, 2,
           case when side = 'counter' then 'balance' end, j.currency
    from invoice_adjustments j
    join inv using (invoice_id)
    cross join (values ('counter'), ('receivable')) sides(side)
    where j.amount_minor <> 0
    union all
    -- a discount's VAT correction, each rate's line valued on its own at the issue date's rate
    select inv.entity, greatest(j.as_of, inv.issue_date), j.as_of, j.kind, j.adjustment_id, inv.customer_id,
           j.currency, j.run_id, j.rule_version, 'tax_payable', v.rate_ppm, v.vat,
           replace(j.kind, '_', ' ') || ' on ' || j.invoice_id || ': VAT',
           inv.issue_date, j.currency,
           'V:' || j.adjustment_id || '/' || coalesce(v.rate_ppm::varchar, 'other'), 0, 2, null, j.currency
    from discount_vat v
    join invoice_adjustments j using (adjustment_id)
    join inv on inv.invoice_id = j.invoice_id
    where v.vat <> 0
),

signed as (
    select s.*, case when s.entity in (select entity from accounts) then s.entity else 'default' end as map_entity
    from (
        select * from invoice_lines_signed
        union all select * from payment_lines_signed
        union all select * from allocation_lines_signed
        union all select * from adjustment_lines_signed
    ) s
),

valued as (
    -- trivial: no functional currency, or every line of the entry already in it (rate 1)
    select s.*, f.currency as functional_currency,
           f.currency is null or (s.currency = f.currency and s.pair_currency = f.currency) as trivial
    from signed s left join functional f on f.entity = s.map_entity
),

-- the rates: per (currency, functional currency, day), the first base currency (in order) that
-- quotes both within $max_age_days, as numerator / denominator scaled by 10^10 (exact integers)
needed as (
    select distinct rate_currency as cur, functional_currency as fun, valued_on as day
    from valued
    where not trivial and rate_currency is not null and rate_currency <> functional_currency
),

quotes as (
    select base_currency as base, currency, rate_date, rate,
           cast(cast(rate as decimal(38, 10)) * 10000000000 as hugeint) as scaled
    from exchange_rates
),

legs as (
    select n.cur, n.fun, n.day, n.base,
           case when qc.rate_date >= n.day - cast($max_age_days as integer) then qc.scaled end as c_scaled,
           case when qc.rate_date >= n.day - cast($max_age_days as integer) then qc.rate end as c_rate,
           case when qf.rate_date >= n.day - cast($max_age_days as integer) then qf.scaled end as f_scaled,
           case when qf.rate_date >= n.day - cast($max_age_days as integer) then qf.rate end as f_rate
    from (select * from needed cross join (select distinct base from quotes)) n
    asof left join quotes qc on qc.base = n.base and qc.currency = n.cur and n.day >= qc.rate_date
    asof left join quotes qf on qf.base = n.base and qf.currency = n.fun and n.day >= qf.rate_date
),

fractions as (
    select cur, fun, day,
           case when cur = base then f_scaled when fun = base then 10000000000::hugeint else f_scaled end as num,
           case when cur = base then 10000000000::hugeint else c_scaled end as den,
           case when cur = base then f_rate when fun = base then '1' else f_rate end as num_text,
           case when cur = base then '1' else c_rate end as den_text
    from legs
    where (cur = base and f_scaled is not null)
       or (fun = base and c_scaled is not null)
       or (cur <> base and fun <> base and c_scaled is not null and f_scaled is not null)
    qualify row_number() over (partition by cur, fun, day order by base) = 1
),

rated as (
    select v.*,
           case when v.rate_currency = v.functional_currency then 1::hugeint else fr.num end as num,
           case when v.rate_currency = v.functional_currency then 1::hugeint else fr.den end as den,
           case when v.rate_currency = v.functional_currency then '1' else fr.num_text end as rate_num,
           case when v.rate_currency = v.functional_currency then '1' else fr.den_text end as rate_den,
           -- 10^(functional decimals - line decimals), on the side of the fraction it belongs to
           (case greatest(ef.exponent - ec.exponent, 0) when 0 then 1 when 1 then 10 when 2 then 100
                 when 3 then 1000 else 10000 end)::hugeint as up,
           (case greatest(ec.exponent - ef.exponent, 0) when 0 then 1 when 1 then 10 when 2 then 100
                 when 3 then 1000 else 10000 end)::hugeint as down,
           case when v.seq is not null and v.functional_currency is not null then
               v.seq_offset + sum(v.signed) over (
                   partition by v.seq
                   order by v.posting_date, v.seq_rank, v.document_id, v.role, v.rate_ppm nulls first, v.signed
                   rows between unbounded preceding and current row)
           end as cum_in
    from (select * from valued where not trivial) v
    left join fractions fr on fr.cur = v.rate_currency and fr.fun = v.functional_currency and fr.day = v.valued_on
    left join currency_exponents ec on ec.currency = v.rate_currency
    left join currency_exponents ef on ef.currency = v.functional_currency
),

primaries as (
    -- a running total in functional currency: round half up (away from zero) of cum * num / den
    select *,
           sign(cum_in) * ((2 * abs(cum_in) * num * up + den * down) // (2 * den * down))
           - sign(cum_in - signed) * ((2 * abs(cum_in - signed) * num * up + den * down) // (2 * den * down))
               as f_own
    from rated
),

functional_lines as (
    select *,
           case when functional_currency is null then null
                when derive is null then f_own
                when derive = 'balance' then -sum(f_own) over entry
                when derive = 'clear_out' then -sum(case when role = 'unapplied_cash' then f_own end) over entry
                when derive = 'clear_in' then sum(case when role = 'unapplied_cash' then f_own end) over entry
           end::bigint as functional
    from primaries
    window entry as (partition by document_type, document_id, entity)
),

all_lines as (
    select * exclude (num, den, up, down, cum_in, f_own) from functional_lines
    union all by name
    select *, '1' as rate_num, '1' as rate_den,
           case when functional_currency is not null then signed end::bigint as functional
    from valued where trivial
),

mapped as (
    select m.* replace (
               case when m.role <> 'fx' then m.role when m.functional > 0 then 'fx_loss' else 'fx_gain' end as role
           )
    from all_lines m
    where m.posting_date between cast($date_from as date) and cast($date_to as date)
      and ($entity is null or m.entity = $entity)
      and (m.signed <> 0 or coalesce(m.functional, 0) <> 0)
),

numbered as (
select m.entity, m.posting_date, m.recorded_on,
       case m.document_type when 'payment' then 'PAY' when 'allocation' then 'APP'
            when 'invoice' then 'INV' when 'credit_note' then 'CRN' when 'fee' then 'FEE'
            when 'interest' then 'INT' else 'ADJ' end
           || ':' || m.document_id || case when m.document_type = 'payment' then '@' || m.entity else '' end
           as entry_id,
       coalesce(exact.account, other.account, single.account) as account,
       m.role,
       m.rate_ppm,
       greatest(m.signed, 0)::bigint as debit_minor,
       greatest(-m.signed, 0)::bigint as credit_minor,
       m.currency, m.customer_id, m.document_type, m.document_id, m.description, m.run_id, m.rule_version,
       m.functional_currency,
       case when m.functional is not null then greatest(m.functional, 0) end::bigint as functional_debit_minor,
       case when m.functional is not null then greatest(-m.functional, 0) end::bigint as functional_credit_minor,
       case when m.functional_currency is not null and m.rate_currency is not null then m.rate_num end as rate_num,
       case when m.functional_currency is not null and m.rate_currency is not null then m.rate_den end as rate_den,
       case when m.functional_currency is not null and m.rate_currency is not null then m.valued_on end as rate_date,
       case when m.functional_currency is not null then m.rate_currency end as rate_currency
from mapped m
left join accounts exact
    on exact.entity = m.map_entity and exact.role = m.role and m.rate_ppm is not null and exact.rate_ppm = m.rate_ppm
left join accounts other
    on other.entity = m.map_entity and other.role = m.role and other.rate_ppm is null
       and m.role in ('revenue', 'tax_payable')
left join accounts single
    on single.entity = m.map_entity and single.role = m.role and single.rate_ppm is null
       and m.role not in ('revenue', 'tax_payable')
)

select entity, posting_date, recorded_on, entry_id,
       (row_number() over (
           partition by entry_id
           order by debit_minor desc, functional_debit_minor desc, account, role, rate_ppm, currency))::integer
           as line_no,
       account, role, rate_ppm, debit_minor, credit_minor, currency, customer_id, document_type, document_id,
       description, run_id, rule_version, functional_currency, functional_debit_minor, functional_credit_minor,
       rate_num, rate_den, rate_date, rate_currency
from numbered
order by posting_date, entry_id, line_no

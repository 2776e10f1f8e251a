-- The reconcile stage's floor: the cash a plain join applies. Every payment with cash unapplied as
-- of the date, joined to the open invoice of its currency whose number its reference spells
-- (compared in compact form: letters and digits only, upper case), and the allocation row that
-- join makes (the lesser of the cash and the open amount, with what each has left after). What a
-- hand-written script needs for the common case: no numbers inside other text, no leading zeros
-- dropped, no OCR repair, RF references, payer or amount matching, tolerances, discounts, short
-- payments, cases, exceptions, evidence, checks or audit.
create or replace temp table floor_reconcile as
with applied as (
    select payment_id, sum(payment_amount_minor)::bigint as applied_minor from allocations group by payment_id
),
cash as (
    select p.payment_id, p.currency, p.value_date,
           p.amount_minor - coalesce(a.applied_minor, 0) as unapplied_minor,
           regexp_replace(upper(p.reference), '[^A-Z0-9]', '', 'g') as compact
    from payments p left join applied a using (payment_id)
    where p.value_date <= $as_of and p.amount_minor - coalesce(a.applied_minor, 0) > 0
),
open_invoice as (
    select invoice_id, currency, open_minor,
           regexp_replace(upper(invoice_id), '[^A-Z0-9]', '', 'g') as compact
    from invoice_balances
    where issue_date <= $as_of and open_minor > 0
)
select c.payment_id || '/' || o.invoice_id as allocation_id, c.payment_id, o.invoice_id,
       least(c.unapplied_minor, o.open_minor) as amount_minor, c.currency,
       'invoice_number' as rule, $as_of::date as as_of,
       c.unapplied_minor - least(c.unapplied_minor, o.open_minor) as payment_unapplied_after_minor,
       o.open_minor - least(c.unapplied_minor, o.open_minor) as invoice_open_after_minor
from cash c join open_invoice o on o.compact = c.compact and o.currency = c.currency

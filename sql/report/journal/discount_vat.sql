-- An early-payment discount's output VAT correction (in Germany § 17 UStG, Art. 90 of the VAT
-- directive: a cash discount taken reduces the taxable amount), per VAT rate of its invoice: one row
-- (adjustment_id, rate_ppm, vat) per rate part with VAT; rate_ppm null is `other`. The journal
-- (lines.sql, which reads this as `discount_vat`) debits each to that rate's tax_payable account,
-- the rest of the discount, net, to cash_discount, and credits the receivable gross.
--
-- The discount is split over the invoice's rates in proportion to the invoice's gross per rate
-- (net + VAT of its lines at that rate). Only the invoice's own lines count: credit notes set
-- against it do not change the proportion. What a billed invoice's lines do not explain of its
-- amount is a part without VAT; an imported invoice (no lines) is one part at `other`, its VAT
-- tax_minor / amount_minor of it; a reminder's charge (fee, interest) has no VAT, a discount on
-- it is all net. Each part is the difference of two running totals over the rates in ascending
-- order (`other` last), discount * gross so far / invoice gross, each rounded half up (away from
-- zero): the parts add up to the discount exactly and each is within one minor unit of its exact
-- share. A part's VAT is part * rate / (1 + rate) (ppm / (1_000_000 + ppm)), rounded half up
-- (away from zero); a 0 % part has none. Integers throughout.
with sales as (
    select invoice_id, amount_minor, tax_minor
    from invoices
    where coalesce(kind, 'invoice') not in ('fee', 'interest')
),

per_rate as (
    select invoice_id, tax_rate_ppm, sum(net_minor + tax_minor)::bigint as gross
    from invoice_lines
    group by invoice_id, tax_rate_ppm
),

explained as (
    select invoice_id, sum(gross)::bigint as total from per_rate group by invoice_id
),

weights as (
    -- per invoice: its gross per rate, and the VAT in a part of it as part * num / den (den > 0)
    select invoice_id, tax_rate_ppm as rate_ppm, gross,
           tax_rate_ppm::hugeint as num, (1000000 + tax_rate_ppm)::hugeint as den
    from per_rate
    union all
    select s.invoice_id, null, s.amount_minor - e.total, 0, 1
    from sales s join explained e using (invoice_id)
    where s.amount_minor <> e.total
    union all
    select s.invoice_id, null, s.amount_minor,
           sign(s.amount_minor) * coalesce(s.tax_minor, 0), abs(s.amount_minor)
    from sales s left join explained e using (invoice_id)
    where e.invoice_id is null and s.amount_minor <> 0
),

shares as (
    select j.adjustment_id, w.rate_ppm, w.num, w.den, j.amount_minor::hugeint as amount,
           (sum(w.gross) over upto)::hugeint as upto, w.gross::hugeint as gross,
           (sum(w.gross) over whole)::hugeint as whole
    from invoice_adjustments j
    join weights w using (invoice_id)
    where j.kind = 'early_payment_discount' and j.amount_minor <> 0
    window upto as (partition by j.adjustment_id order by w.rate_ppm nulls last, w.num, w.gross
                    rows between unbounded preceding and current row),
           whole as (partition by j.adjustment_id)
),

parts as (
    select adjustment_id, rate_ppm, num, den,
           sign(amount) * sign(upto) * sign(whole)
               * ((2 * abs(amount * upto) + abs(whole)) // (2 * abs(whole)))
           - sign(amount) * sign(upto - gross) * sign(whole)
               * ((2 * abs(amount * (upto - gross)) + abs(whole)) // (2 * abs(whole))) as part
    from shares
    where whole <> 0
)

select adjustment_id, rate_ppm, vat
from (
    select adjustment_id, rate_ppm,
           (sign(part * num) * ((2 * abs(part * num) + den) // (2 * den)))::bigint as vat
    from parts
)
where vat <> 0
order by adjustment_id, rate_ppm nulls last

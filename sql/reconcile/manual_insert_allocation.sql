-- A person's allocation of cash from a payment to an invoice. The guard repeats, inside the
-- transaction, what the decision checked: one currency (or two, with the rate used), a new pair,
-- and never more than the payment has unapplied or the invoice owes. No row is inserted when any
-- of it fails.
insert into allocations (
    allocation_id, payment_id, invoice_id, amount_minor, currency, rule, rule_version, score,
    evidence, as_of, run_id, decided_by, payment_amount_minor, payment_currency, exchange_rate, rate_date
)
select
    $allocation_id,
    p.payment_id,
    i.invoice_id,
    $amount_minor::bigint,
    i.currency,
    $rule,
    $rule_version,
    $score::double,
    $evidence,
    $as_of::date,
    $run_id,
    $decided_by,
    $payment_amount_minor::bigint,
    p.currency,
    $exchange_rate::varchar,
    $rate_date::date
from payments p, invoices i
where p.payment_id = $payment_id
  and i.invoice_id = $invoice_id
  and (
        (p.currency = i.currency and $payment_amount_minor::bigint = $amount_minor::bigint
         and $exchange_rate::varchar is null)
        or (p.currency <> i.currency and $exchange_rate::varchar is not null)
      )
  and $amount_minor::bigint > 0
  and $payment_amount_minor::bigint > 0
  and $payment_amount_minor::bigint <= p.amount_minor - coalesce((
        select sum(a.payment_amount_minor) from allocations a where a.payment_id = p.payment_id
      ), 0)
  and $amount_minor::bigint <= (select b.open_minor from invoice_balances b where b.invoice_id = i.invoice_id)
  and not exists (
        select 1 from allocations a
        where a.allocation_id = $allocation_id
           or (a.payment_id = p.payment_id and a.invoice_id = i.invoice_id)
      )

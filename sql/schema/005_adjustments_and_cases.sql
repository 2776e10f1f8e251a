-- What reconcile settles besides cash: small differences written off, and short payments opened as
-- deduction cases. An invoice's amount = allocated + written off + open, always.

create table invoice_adjustments (
    adjustment_id  varchar primary key,
    invoice_id     varchar not null,
    payment_id     varchar,
    kind           varchar not null,     -- 'small_difference'
    amount_minor   bigint not null,      -- reduces the open amount
    currency       varchar not null,
    reason         varchar not null,
    rule_version   varchar not null,
    as_of          date not null,
    run_id         varchar not null
);

create table cases (
    case_id       varchar primary key,
    kind          varchar not null,      -- 'deduction' (later: 'dispute', 'promise')
    customer_id   varchar not null,
    invoice_id    varchar,
    payment_id    varchar,
    amount_minor  bigint not null,
    currency      varchar not null,
    reason_code   varchar not null,
    reason_text   varchar,
    owner         varchar,
    opened_on     date not null,
    due_on        date,
    status        varchar not null,      -- 'open', 'resolved', 'rejected'
    run_id        varchar not null
);

-- The current balance of every invoice: what was allocated, written off, and what is still open.
create view invoice_balances as
select
    i.invoice_id,
    i.customer_id,
    i.currency,
    i.issue_date,
    i.due_date,
    i.amount_minor,
    coalesce(a.allocated_minor, 0) as allocated_minor,
    coalesce(w.written_off_minor, 0) as written_off_minor,
    i.amount_minor - coalesce(a.allocated_minor, 0) - coalesce(w.written_off_minor, 0) as open_minor
from invoices i
left join (
    select invoice_id, sum(amount_minor) as allocated_minor from allocations group by invoice_id
) a using (invoice_id)
left join (
    select invoice_id, sum(amount_minor) as written_off_minor from invoice_adjustments group by invoice_id
) w using (invoice_id);

-- Cash application at full strength: the exception queue, learned payer accounts, who decided.

create table payment_exceptions (
    payment_id       varchar primary key,   -- a payment reconcile could not apply with confidence
    currency         varchar not null,
    unapplied_minor  bigint not null,
    reason           varchar not null,
    suggestions      varchar not null,      -- JSON list of up to three {invoice_id, amount_minor, score, rule, evidence}
    as_of            date not null,
    run_id           varchar not null
);

create table payer_accounts (
    account      varchar not null,          -- normalised: upper case, no spaces
    customer_id  varchar not null,
    source       varchar not null,          -- 'confirmed_match' (a person applied or confirmed it)
    run_id       varchar not null,
    primary key (account, customer_id)
);

alter table allocations add column decided_by varchar;   -- a person's name for manual decisions

-- Cash on account: a payment from a known customer that fits no open invoice (an advance, or what
-- is left of an overpayment) is held for that customer instead of waiting in the exception queue.
-- Like payment_exceptions, the table holds the latest reconcile run's evaluation (replaced whole
-- each run); the cash itself stays unapplied on its payment until an invoice takes it.
create table cash_on_account (
    payment_id       varchar primary key,
    customer_id      varchar not null,
    currency         varchar not null,
    unapplied_minor  bigint not null,
    reason           varchar not null,
    as_of            date not null,
    run_id           varchar not null
);

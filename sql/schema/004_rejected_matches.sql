-- A match a person took back (`o2c unapply`): reconcile never makes it again by itself.
create table rejected_matches (
    payment_id   varchar not null,
    invoice_id   varchar not null,
    decided_by   varchar not null,
    run_id       varchar not null,
    primary key (payment_id, invoice_id)
);

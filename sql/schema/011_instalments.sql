-- An invoice paid in instalments, as its terms say: each part's due date and amount (the parts sum
-- to the invoice's total).
create table invoice_instalments (
    invoice_id    varchar not null,
    instalment    integer not null,
    due_date      date not null,
    amount_minor  bigint not null,
    currency      varchar not null,
    run_id        varchar not null,
    primary key (invoice_id, instalment)
);

-- Who each invoice and credit note was made out to, as the customer master said when it was
-- billed: a document written again later (a run that stopped before its documents, a credit note's
-- original) prints the address the invoice was issued to, not one the master has since changed to.
-- Written once by the invoice stage, never changed.
create table invoice_buyers (
    invoice_id       varchar primary key,
    customer_id      varchar not null,
    name             varchar,
    email            varchar,
    address          varchar,
    postcode         varchar,
    city             varchar,
    country          varchar,
    vat_id           varchar,
    einvoice         varchar,
    buyer_reference  varchar,
    language         varchar,
    run_id           varchar not null
);

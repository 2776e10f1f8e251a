-- Payment terms as sales contracts write them ("net 30", "eom 15", "2% 10 net 30"); empty means
-- net payment_terms_days.
alter table customers add column payment_terms varchar;

-- The lines of each invoice the invoice stage billed, as billed: the document's own record, which
-- a later change to the order cannot alter.
create table invoice_lines (
    invoice_id        varchar not null,
    line_no           integer not null,
    order_id          varchar,            -- empty on a subscription period
    sku               varchar,
    description       varchar,
    quantity          bigint not null,
    unit_price_minor  bigint not null,
    tax_rate_ppm      integer not null,
    net_minor         bigint not null,
    tax_minor         bigint not null,
    currency          varchar not null,
    run_id            varchar not null,
    primary key (invoice_id, line_no)
);

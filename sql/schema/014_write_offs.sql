-- Write-offs: proposed by policy or by a person, approved by another person within their limit;
-- an approved write-off closes that much of the invoice's open amount (an `invoice_adjustments`
-- row of kind `write_off`), and every step is in the audit log.
create sequence write_off_seq;
create table write_offs (
    write_off_id   varchar primary key,          -- 'WO-000001'
    invoice_id     varchar not null,
    customer_id    varchar not null,
    currency       varchar not null,
    amount_minor   bigint not null,
    reason         varchar not null,
    source         varchar not null,             -- 'manual' or 'policy'
    proposed_by    varchar not null,
    proposed_at    timestamp not null,
    status         varchar not null,             -- 'proposed', 'approved', 'rejected'
    decided_by     varchar,
    decided_at     timestamp,
    decision_note  varchar,
    run_id         varchar not null
);

-- The evidence of each run, for auditors: the rule, template, contract and mapping files it used and
-- the input files it read, stored once by content (sha256), and which of them each run used.
create table evidence_files (
    sha256       varchar primary key,
    size         bigint not null,
    content      blob not null,
    first_run_id varchar not null,   -- the run that first used this content
    stored_at    timestamp not null
);
alter table stage_runs add column evidence varchar;  -- JSON: {"files": {path: sha256}, "inputs": [...]}

-- What auditors ask of a run: who or what started it, and the version (hash) of the rules it used.
alter table stage_runs add column started_by varchar;    -- cli, schedule, ui or api, order_to_cash run, python
alter table stage_runs add column rule_version varchar;  -- the policy file's version and hash, where one applies

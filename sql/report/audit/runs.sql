-- Every stage run since a date: stage, business date, who or what started it, outcome, counts, the
-- rule version and the hash of every contract its checkpoints used.
select r.run_id, r.stage, r.as_of, coalesce(r.started_by, '') as started_by, r.outcome, r.counts,
       coalesce(r.rule_version, '') as rule_version,
       coalesce((select string_agg(distinct c.dataset || '=' || c.contract_hash, ' ' order by c.dataset || '=' || c.contract_hash)
                 from checkpoint_runs c where c.run_id = r.run_id and c.stage = r.stage), '') as contracts,
       r.finished_at
from stage_runs r
where cast(r.finished_at as date) >= $since
order by r.finished_at, r.stage

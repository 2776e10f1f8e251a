-- One audit row per outbox message that moves to a new delivery state (see platform/outbox/move.sql), written
-- before the move so that `before` is the state it leaves; `after` names the next attempt of a
-- message `retrying` and who decided a person's move. `{table}` and `{key}` are an outbox table and
-- its key column, put in by the code from its fixed list (tasks/platform/ledger/tables.py OUTBOX_TABLES), never from
-- input; `outbox_moves` holds the moves (message_id, expected, status, reason, next_attempt_at).
insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)
select $run_id, $stage, $entity, t.{key}, 'status',
       json_object('status', t.status)::varchar,
       json_merge_patch(
           json_object('status', m.status, 'reason', m.reason),
           -- a null here leaves the key out
           json_object('next_attempt_at', strftime(m.next_attempt_at, '%Y-%m-%dT%H:%M:%S'), 'by', $decided_by)
       )::varchar,
       $created_at
from {table} t
join outbox_moves m on m.message_id = t.{key} and m.expected = t.status
order by t.{key}

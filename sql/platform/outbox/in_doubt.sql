-- Messages of one outbox table left `sending` (a delivery stopped between marking and recording):
-- never sent again blindly, they become `unknown` for a person.
select message_id
from outbox_messages
where entity = $entity and status = 'sending'
order by message_id

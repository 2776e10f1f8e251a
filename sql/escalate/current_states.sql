-- The state each customer and currency was in before the as-of date: the one entered most
-- recently before it. The states of the date itself are what a run of that date decides; a second
-- run of the same day decides them again from the same starting point.
select customer_id, currency, state, entered_on
from escalations
where entered_on < $as_of
qualify row_number() over (partition by customer_id, currency order by entered_on desc, state) = 1

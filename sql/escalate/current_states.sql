-- The state each customer and currency entered most recently.
select customer_id, currency, state, entered_on
from escalations
qualify row_number() over (partition by customer_id, currency order by entered_on desc, state) = 1

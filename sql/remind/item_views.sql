-- What the reminder templates show of each invoice in a message, as text, in the order given
-- (`_row`): the dates as YYYY-MM-DD and the open amount and interest in major units, exactly as
-- `to_major_str` writes them (`exponents`: the decimals of each currency).
select i.invoice_id,
       cast(i.issue_date as varchar) as issue_date,
       cast(i.due_date as varchar) as due_date,
       i.days_past_due,
       case when i.open_minor < 0 then '-' else '' end || cast(abs(i.open_minor) // e.scale as varchar)
           || case when e.exponent > 0
                   then '.' || lpad(cast(abs(i.open_minor) % e.scale as varchar), cast(e.exponent as integer), '0') else '' end
           as open_amount,
       i.currency,
       i.level_name,
       case when i.interest_minor < 0 then '-' else '' end || cast(abs(i.interest_minor) // e.scale as varchar)
           || case when e.exponent > 0
                   then '.' || lpad(cast(abs(i.interest_minor) % e.scale as varchar), cast(e.exponent as integer), '0') else '' end
           as interest,
       i.interest_minor <> 0 as has_interest
from items i
join exponents e using (currency)
order by i._row

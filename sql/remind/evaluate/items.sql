-- Every item of a customer with something new to say, at its level, with the interest to date where
-- the level charges it: open amount x annual rate x days / 365, rounded half up to the minor unit
-- (the rate in millionths of a percent, the product in 128-bit integers: exact). The days run from
-- `interest_from`: the due date, or the day an earlier reminder's booked interest charge took the
-- invoice up to (`charged_in`), so interest already charged is never charged again.
with counted as (
    select r.*, greatest(r.due_date, coalesce(c.interest_through, r.due_date)) as interest_from
    from remaining r
    left join (select invoice_id, max(interest_through) as interest_through from charged_in group by invoice_id) c
        using (invoice_id)
)
select r.customer_id, r.invoice_id, r.currency, r.issue_date, r.due_date, r.open_minor, r.days_past_due,
       r.level, r.level_name,
       case when l.interest_ppm > 0 and cast($as_of as date) > r.interest_from
            then ((r.open_minor::hugeint * l.interest_ppm * cast(cast($as_of as date) - r.interest_from as bigint) * 2
                   + 36500000000) // 73000000000)::bigint
            else 0 end as interest_minor,
       case when l.interest_ppm > 0 then r.interest_from end as interest_from,
       r.is_new, r.profile, r.template
from counted r
join ladder l using (profile, level)
where r.customer_id in (select customer_id from remaining where is_new)
order by r.customer_id, r.due_date, r.invoice_id, r._row

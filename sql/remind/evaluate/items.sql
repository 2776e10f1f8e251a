-- Every item of a customer with something new to say, at its level, with the interest to date where
-- the level charges it: open amount x annual rate x days past due / 365, rounded half up to the
-- minor unit (the rate in millionths of a percent, the product in 128-bit integers: exact).
select r.customer_id, r.invoice_id, r.currency, r.issue_date, r.due_date, r.open_minor, r.days_past_due,
       r.level, r.level_name,
       case when l.interest_ppm > 0 and r.days_past_due > 0
            then ((r.open_minor::hugeint * l.interest_ppm * r.days_past_due * 2 + 36500000000)
                  // 73000000000)::bigint
            else 0 end as interest_minor,
       r.is_new, r.profile, r.template
from remaining r
join ladder l using (profile, level)
where r.customer_id in (select customer_id from remaining where is_new)
order by r.customer_id, r.due_date, r.invoice_id, r._row

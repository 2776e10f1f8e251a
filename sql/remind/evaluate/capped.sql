-- A customer moves up at most one rung per run: from the highest level its open invoices were
-- reminded at (the first history row of an invoice) to the next rung of its profile, or its top
-- rung (courtesy notes are not rungs and are never capped). A customer never reminded before, under
-- a profile whose first contact goes by age (`first_contact: by_age`), is not capped: each invoice
-- is at the level its age calls for. Each item is then new at its level
-- when it was never reminded at it or above; a customer with nothing new is not written to.
create or replace temp table remaining as
with last as (
    select invoice_id, last_level
    from history_in
    qualify row_number() over (partition by invoice_id order by _row) = 1
),
item as (
    select r.*, last.last_level,
           coalesce(max(last.last_level) over (partition by r.customer_id), -1) as current_level
    from remaining r
    left join last using (invoice_id)
),
cap as (
    select d.profile, d.current_level,
           coalesce(
               (select min(l.level) from ladder l
                where l.profile = d.profile and not l.courtesy and l.level > d.current_level
                  and not (d.current_level < 0 and l.first_by_age)),
               (select max(l.level) from ladder l where l.profile = d.profile and not l.courtesy),
               -1
           ) as cap_level
    from (select distinct profile, current_level from item) d
),
capped as (
    select item.* exclude (level, last_level, current_level),
           case when item.days_past_due < 0 or cap.cap_level < 0 then item.level
                else least(item.level, cap.cap_level) end as level,
           item.last_level
    from item
    join cap using (profile, current_level)
),
news as (
    select capped.* exclude (last_level),
           l.level_name, l.template,
           capped.last_level is null or capped.level > capped.last_level as is_new
    from capped
    join ladder l using (profile, level)
)
select * from news
where customer_id in (select customer_id from news where is_new)

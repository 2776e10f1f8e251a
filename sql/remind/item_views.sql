-- What the reminder templates show of each invoice in a message, as text in the message's language,
-- in the order given (`_row`): the dates as the language writes them on a document (`04.12.2026`,
-- `4 déc. 2026`, `4 Dec 2026`), the open amount and interest with the currency's symbol, its
-- thousands and decimal separators and its decimals, exactly as `tasks.platform.localized.money`
-- writes them (`formats`: those parts per currency and language, read off Babel; `months`: the
-- language's month abbreviations).
with shown as (
    select i.*, f.prefix, f.suffix, f.grp, f.dec, f.exponent, f.scale, f.numeric_dates,
           mi.abbr as issue_month, md.abbr as due_month
    from items i
    join formats f using (currency, language)
    join months mi on mi.language = i.language and mi.month = month(i.issue_date)
    join months md on md.language = i.language and md.month = month(i.due_date)
)
select invoice_id,
       case when numeric_dates then strftime(issue_date, '%d.%m.%Y')
            else cast(day(issue_date) as varchar) || ' ' || issue_month || ' ' || cast(year(issue_date) as varchar)
       end as issue_date,
       case when numeric_dates then strftime(due_date, '%d.%m.%Y')
            else cast(day(due_date) as varchar) || ' ' || due_month || ' ' || cast(year(due_date) as varchar)
       end as due_date,
       days_past_due,
       case when open_minor < 0 then '-' else '' end || prefix
           || replace(format('{:,}', abs(open_minor) // scale), ',', grp)
           || case when exponent > 0
                   then dec || lpad(cast(abs(open_minor) % scale as varchar), cast(exponent as integer), '0') else '' end
           || suffix as open_amount,
       currency,
       level_name,
       case when interest_minor < 0 then '-' else '' end || prefix
           || replace(format('{:,}', abs(interest_minor) // scale), ',', grp)
           || case when exponent > 0
                   then dec || lpad(cast(abs(interest_minor) % scale as varchar), cast(exponent as integer), '0') else '' end
           || suffix as interest,
       interest_minor <> 0 as has_interest
from shown
order by _row

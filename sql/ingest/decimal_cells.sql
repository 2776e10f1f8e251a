-- Decimal text (an amount, a rate) as a whole count of 10^-exponent units, exactly: the digits are
-- read as integers and scaled by a power of ten taken from a table, never through a float.
--   cells(text varchar, exponent integer): the text as read, trimmed of the white space around it,
--   and the decimals its row allows (missing: the row's currency is not known)
-- One row out per row in, in order:
--   scaled       the number, or null unless it is well formed, its exponent known and precise enough
--   malformed    present but not a plain decimal number (ASCII digits, one optional sign and point:
--                no exponent, no thousands separator, no NaN), or too many digits for a BIGINT once
--                scaled
--   too_precise  more decimals than the exponent allows (trailing zeros do not count: 38.0 is 38)
with powers as (  -- 10^0 .. 10^18, the powers of ten a BIGINT holds, as integers
    select [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
            100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
            10000000000000000, 100000000000000000, 1000000000000000000]::bigint[] as pow10
),
parts as (
    select
        exponent,
        coalesce(text = '', true) as blank,
        regexp_extract(text, '^([+-]?)([0-9]{1,15})(?:\.([0-9]*))?$', ['sign', 'whole', 'fraction']) as part
    from cells
),
digits as (  -- a text that does not match has no whole digits
    select exponent, blank, part.whole <> '' as matched, part.sign as sign, part.whole as whole,
        rtrim(part.fraction, '0') as fraction
    from parts
),
judged as (
    select
        exponent,
        blank,
        sign,
        whole,
        fraction,
        matched and exponent is not null and length(fraction) > exponent as too_precise,
        matched and not coalesce(length(whole) + exponent > 18, false) as well_formed
    from digits
)
select
    case when well_formed and exponent is not null and not too_precise then
        (case when sign = '-' then -1 else 1 end)
        * (whole::bigint * pow10[exponent + 1]
           + coalesce(nullif(fraction, '')::bigint, 0)
             * pow10[exponent - length(fraction) + 1])
    end as scaled,
    not blank and not well_formed as malformed,
    coalesce(too_precise, false) as too_precise
from judged, powers

-- Exchange rates the company supplies (`o2c rates load`: the ECB's reference rates, or a CSV of its
-- own): units of `currency` for one unit of `base_currency` on `rate_date`, as decimal text exactly
-- as given (never a float). A quote is kept once: a file giving another rate for a day already
-- known is refused.
create table exchange_rates (
    rate_date      date not null,
    base_currency  varchar not null,
    currency       varchar not null,
    rate           varchar not null,
    source         varchar not null,   -- the file it came from
    run_id         varchar not null,
    primary key (rate_date, base_currency, currency)
);

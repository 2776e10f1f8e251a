"""The journal: every money event of the ledger as balanced double-entry lines for the general
ledger the company keeps elsewhere, and the files an ERP imports them from.

`journal_lines` reads the lines for a period (set-based, in the ledger's compute engine:
`sql/report/journal/lines.sql` says which event books what, `discount_vat.sql` how an
early-payment discount corrects the output VAT); the rest is pure: the checks that
debits equal credits per entity, currency and day and that every line found its account, the
receivable balance per entity and currency, and the CSV and JSON files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rules.accounts import AccountMap
from tasks.platform.fx import MAX_AGE_DAYS
from tasks.platform.money import CURRENCY_EXPONENTS, exponent

FORMAT = "o2c-journal"
FORMAT_VERSION = 2  # 2: the functional-currency columns
# Every column of the CSV and of the JSON's lines, in order, with what it holds.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("entity", "string", "legal entity the line is booked in (`default`: the workspace's own series)"),
    (
        "posting_date",
        "date",
        "business date of the event: issue date, the payment's value date, the adjustment's date",
    ),
    (
        "recorded_on",
        "date",
        "the business date of the run that recorded it (an allocation may come later than its cash)",
    ),
    (
        "entry_id",
        "string",
        "one balanced entry: INV/CRN (document), FEE/INT (a reminder's fee or interest charged), PAY"
        " (cash received, per entity), APP (cash applied), ADJ",
    ),
    ("line_no", "integer", "line within the entry, from 1"),
    ("account", "string", "general-ledger account from rules/accounts.yaml"),
    (
        "role",
        "string",
        "what the account is for: receivable, revenue, tax_payable, fee_income, interest_income, bank,"
        " unapplied_cash, ...",
    ),
    ("tax_rate", "decimal", "VAT rate in percent of a revenue or VAT line (empty: none, or not given)"),
    ("debit", "decimal", "debit in major units of the currency ('1234.50'); 0 when the line is a credit"),
    ("credit", "decimal", "credit in major units of the currency; 0 when the line is a debit"),
    ("debit_minor", "integer", "the debit in minor units (cents)"),
    ("credit_minor", "integer", "the credit in minor units"),
    ("currency", "string", "ISO 4217 currency of the amounts"),
    ("customer_id", "string", "the customer the line concerns (empty: cash from a payer not known)"),
    (
        "document_type",
        "string",
        "invoice, credit_note, fee or interest (a reminder's charge), payment, allocation, or the"
        " adjustment's kind",
    ),
    (
        "document_id",
        "string",
        "the source document: invoice or credit note number, payment id, allocation or adjustment id",
    ),
    ("description", "string", "what happened, in words"),
    ("run_id", "string", "the Prefect flow run that wrote the source row"),
    (
        "rule_version",
        "string",
        "the policy version the source decision was made under (allocations and adjustments)",
    ),
    ("account_map_version", "string", "the version of rules/accounts.yaml the accounts were chosen by"),
    (
        "functional_currency",
        "string",
        "the entity's functional currency (rules/accounts.yaml; empty: none, the columns below are empty)",
    ),
    (
        "functional_debit",
        "decimal",
        "the debit in functional currency, major units; an exchange difference (fx_gain, fx_loss) has"
        " only this side: 0 in document currency",
    ),
    ("functional_credit", "decimal", "the credit in functional currency, major units"),
    ("functional_debit_minor", "integer", "the functional debit in minor units"),
    ("functional_credit_minor", "integer", "the functional credit in minor units"),
    (
        "rate",
        "decimal",
        "units of functional currency for one unit of the line's currency the line was valued at (10"
        " decimals at most when crossed through the base currency); empty for an exchange difference"
        " and for the invoice-currency side of fx_clearing, which carries the payment side's amount",
    ),
    (
        "rate_date",
        "date",
        "the day whose rate valued the line: the document's issue date (invoice, credit note, the"
        " receivable of cash applied and of adjustments) or the payment's value date (cash received,"
        " the unapplied-cash side of cash applied)",
    ),
)
INTERNAL = ("rate_num", "rate_den", "rate_currency")
MAP_SCHEMA = pa.schema(
    [("entity", pa.string()), ("role", pa.string()), ("rate_ppm", pa.int64()), ("account", pa.string())]
)


class JournalProblem(ValueError):
    """A journal that must not be handed over: a line without an account, or an unbalanced day."""


@dataclass(frozen=True)
class Journal:
    lines: pa.Table  # the columns of COLUMNS, in order
    date_from: date
    date_to: date
    entity: str | None
    account_map_version: str


def account_table(accounts: AccountMap) -> pa.Table:
    rows = accounts.rows()
    return pa.table(
        [pa.array([r[i] for r in rows], MAP_SCHEMA.field(i).type) for i in range(4)], schema=MAP_SCHEMA
    )


def functional_table(accounts: AccountMap) -> pa.Table:
    """`functional` (entity, currency) for the SQL: each map entity's functional currency or null."""
    chosen = accounts.functional_currencies()
    return pa.table(
        {
            "entity": pa.array(list(chosen), pa.string()),
            "currency": pa.array(list(chosen.values()), pa.string()),
        }
    )


def exponent_table() -> pa.Table:
    """`currency_exponents` (currency, exponent): the decimals of every ISO 4217 currency."""
    known = sorted(CURRENCY_EXPONENTS.items())
    return pa.table(
        {
            "currency": pa.array([c for c, _ in known], pa.string()),
            "exponent": pa.array([e for _, e in known], pa.int32()),
        }
    )


def missing_rates(raw: pa.Table) -> str:
    """Why functional amounts cannot be given: the lines of an entity with a functional currency
    whose currency pair had no rate on the day (at most five pairs and days named); empty when
    every line was valued."""
    lacking = pc.and_(
        pc.is_valid(raw.column("rate_currency")),
        pc.or_(pc.is_null(raw.column("rate_num")), pc.is_null(raw.column("functional_debit_minor"))),
    )
    if not pc.any(lacking).as_py():
        return ""
    rows = raw.filter(lacking).select(["rate_currency", "functional_currency", "rate_date"])
    pairs = sorted({(r["rate_currency"], r["functional_currency"], r["rate_date"]) for r in rows.to_pylist()})
    named = "; ".join(f"{c} to {f} on {d.isoformat()}" for c, f, d in pairs[:5])
    more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
    return (
        f"no exchange rate for {named}{more} (a quote on or before the day, at most {MAX_AGE_DAYS} days"
        " old, is needed to value the lines in functional currency): load the company's rates with"
        " `o2c rates load FILE`, or remove functional_currency from rules/accounts.yaml"
    )


def entity_account_table(bank_accounts: dict[str, str] | None) -> pa.Table:
    """`entity_accounts` (account, entity) for the SQL that says which entity's bank received a
    payment: each IBAN of rules/entities.yaml without spaces, upper case."""
    owned = sorted((bank_accounts or {}).items())
    return pa.table(
        {
            "account": pa.array([a.replace(" ", "").upper() for a, _ in owned], pa.string()),
            "entity": pa.array([e for _, e in owned], pa.string()),
        }
    )


def journal_lines(
    ledger: Any,
    accounts: AccountMap,
    version: str,
    *,
    date_from: date,
    date_to: date,
    entity: str | None = None,
    bank_accounts: dict[str, str] | None = None,
) -> Journal:
    """The journal's lines posted from `date_from` to `date_to` (one entity, or all), checked.
    `bank_accounts` (IBAN -> entity, from rules/entities.yaml) says which entity's bank received a
    payment: the cash it has not applied yet is booked in the entity the report counts it in."""
    banks = {"entity_accounts": entity_account_table(bank_accounts)}
    members = {"entity_members": ledger.arrow_with("report/entity_members", banks)}
    raw = ledger.arrow_with(
        "report/journal/lines",
        {
            # an early-payment discount's output VAT correction per rate of its invoice
            "discount_vat": ledger.arrow("report/journal/discount_vat"),
            "accounts": account_table(accounts),
            # the entity and customer of each payment's rest, as the report counts them
            "unapplied_home": ledger.arrow_with("report/unapplied_as_of", members, as_of=date_to),
            "functional": functional_table(accounts),
            "currency_exponents": exponent_table(),
        },
        date_from=date_from,
        date_to=date_to,
        entity=entity,
        max_age_days=MAX_AGE_DAYS,
    )
    missing = missing_rates(raw)
    if missing:
        raise JournalProblem(missing)
    journal = Journal(finished(raw, version), date_from, date_to, entity, version)
    problems = check(journal.lines)
    if problems:
        raise JournalProblem("; ".join(problems))
    return journal


def finished(raw: pa.Table, version: str) -> pa.Table:
    """The query's lines in the files' columns: amounts also in major units, rates in percent."""
    currency = raw.column("currency")
    functional = pc.fill_null(raw.column("functional_currency"), "EUR")  # no amount where null
    columns: dict[str, Any] = {}
    for name, _type, _text in COLUMNS:
        if name in ("debit", "credit"):
            columns[name] = major_units(raw.column(f"{name}_minor"), currency)
        elif name in ("functional_debit", "functional_credit"):
            columns[name] = major_units(raw.column(f"{name}_minor"), functional)
        elif name == "rate":
            columns[name] = rate_text(raw.column("rate_num"), raw.column("rate_den"))
        elif name == "tax_rate":
            columns[name] = _percent(raw.column("rate_ppm"))
        elif name == "account_map_version":
            columns[name] = pa.array([version] * raw.num_rows, pa.string())
        else:
            columns[name] = raw.column(name)
    return pa.table(columns)


def major_units(minor: pa.ChunkedArray, currency: pa.ChunkedArray) -> pa.Array:
    """Non-negative minor units as decimal text in major units of each row's currency, computed per
    number of decimals for the whole column at once ('1234.50', JPY '1234', BHD '1.234')."""
    values = pc.cast(minor, pa.int64())
    codes = pc.unique(currency).to_pylist()
    decimals = pc.cast(pc.index_in(currency, value_set=pa.array(codes)), pa.int64())
    decimals = pc.take(pa.array([exponent(str(c)) for c in codes], pa.int64()), decimals)
    out = pc.cast(values, pa.string())
    for exp in sorted({exponent(str(c)) for c in codes} - {0}):
        scale = 10**exp
        text = pc.binary_join_element_wise(
            pc.cast(pc.divide(values, scale), pa.string()),
            pc.utf8_lpad(
                pc.cast(pc.subtract(values, pc.multiply(pc.divide(values, scale), scale)), pa.string()),
                exp,
                "0",
            ),
            ".",
        )
        out = pc.if_else(pc.equal(decimals, exp), text, out)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def rate_text(num: pa.ChunkedArray, den: pa.ChunkedArray) -> pa.Array:
    """The rate of each line as decimal text: the quote as given (`'1.08'`), or numerator /
    denominator to 10 decimals when inverted or crossed; null stays null."""
    pairs = pc.binary_join_element_wise(num, den, "/")
    known = [p for p in pc.unique(pairs).to_pylist() if p is not None]
    texts = []
    for pair in known:
        top, bottom = (Decimal(x) for x in pair.split("/"))
        if bottom == 1:
            texts.append(pair.split("/")[0])
        else:
            with localcontext() as context:
                context.prec = 40
                exact = (top / bottom).quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP)
            texts.append(format(exact.normalize(), "f"))
    taken = pc.take(pa.array(texts, pa.string()), pc.index_in(pairs, value_set=pa.array(known, pa.string())))
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken


def _percent(ppm: pa.ChunkedArray) -> pa.Array:
    """Rates in parts per million as percent text ('19', '5.5'); null stays null."""
    rates = [r for r in pc.unique(ppm).to_pylist() if r is not None]
    texts: list[str] = []
    for value in rates:
        whole, rest = divmod(int(value), 10_000)
        texts.append(f"{whole}.{rest:04d}".rstrip("0").rstrip(".") if rest else str(whole))
    where = pc.index_in(ppm, value_set=pa.array(rates, ppm.type))
    taken = pc.take(pa.array(texts, pa.string()), where)
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken


def check(lines: pa.Table) -> list[str]:
    """Why the lines must not be handed over: lines without an account (a role or adjustment kind
    the account map does not know), and each entity, currency and day whose debits and credits
    differ. Empty when the journal is sound."""
    problems = []
    unmapped = pc.is_null(lines.column("account"))
    if pc.any(unmapped).as_py():
        roles = sorted(set(pc.filter(lines.column("role"), unmapped).to_pylist()))
        problems.append(f"no account for {', '.join(roles)} (rules/accounts.yaml)")
    totals = lines.group_by(["entity", "currency", "posting_date"]).aggregate(
        [("debit_minor", "sum"), ("credit_minor", "sum")]
    )
    off = pc.not_equal(totals.column("debit_minor_sum"), totals.column("credit_minor_sum"))
    for row in totals.filter(off).to_pylist()[:5]:
        problems.append(
            f"{row['entity']} {row['currency']} {row['posting_date']}: debits {row['debit_minor_sum']}"
            f" and credits {row['credit_minor_sum']} (minor units) differ"
        )
    if "functional_debit_minor" in lines.column_names:
        valued = lines.select(
            [
                "entity",
                "functional_currency",
                "posting_date",
                "functional_debit_minor",
                "functional_credit_minor",
            ]
        ).filter(pc.is_valid(lines.column("functional_currency")))
        totals = valued.group_by(["entity", "functional_currency", "posting_date"]).aggregate(
            [("functional_debit_minor", "sum"), ("functional_credit_minor", "sum")]
        )
        off = pc.not_equal(
            totals.column("functional_debit_minor_sum"), totals.column("functional_credit_minor_sum")
        )
        for row in totals.filter(off).to_pylist()[:5]:
            problems.append(
                f"{row['entity']} {row['posting_date']} in functional {row['functional_currency']}: debits"
                f" {row['functional_debit_minor_sum']} and credits {row['functional_credit_minor_sum']}"
                " (minor units) differ"
            )
    return problems


def balances(lines: pa.Table, role: str = "receivable") -> dict[tuple[str, str], int]:
    """Per (entity, currency), debits less credits of the lines of `role` (minor units)."""
    mine = lines.filter(pc.equal(lines.column("role"), role))
    totals = mine.group_by(["entity", "currency"]).aggregate(
        [("debit_minor", "sum"), ("credit_minor", "sum")]
    )
    return {
        (r["entity"], r["currency"]): int(r["debit_minor_sum"]) - int(r["credit_minor_sum"])
        for r in totals.to_pylist()
    }


def totals(lines: pa.Table) -> list[dict[str, Any]]:
    """Per entity and currency: lines, debits and credits (minor units), for the command's summary."""
    grouped = lines.group_by(["entity", "currency"]).aggregate(
        [("debit_minor", "sum"), ("credit_minor", "sum"), ("line_no", "count")]
    )
    rows = [
        {
            "entity": r["entity"],
            "currency": r["currency"],
            "lines": int(r["line_no_count"]),
            "debit_minor": int(r["debit_minor_sum"]),
            "credit_minor": int(r["credit_minor_sum"]),
        }
        for r in grouped.to_pylist()
    ]
    return sorted(rows, key=lambda r: (r["entity"], r["currency"]))


def write(journal: Journal, path: Path) -> None:
    """The journal as CSV (`.csv`) or as JSON (`.json`: the columns described, then the lines),
    written whole or not at all (tasks/report/journal_files.py)."""
    from tasks.report.journal_files import write_file

    write_file(journal, path)

"""The whole pipeline on a generated book, through Prefect: money invariants and idempotence."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import ingest_flow
from flows.order_to_cash import order_to_cash
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.conftest import AS_OF, book_files

BUSINESS_TABLES = (
    "customers",
    "customer_bank_accounts",
    "orders",
    "order_lines",
    "invoices",
    "payments",
    "allocations",
    "reminders",
    "reminder_items",
    "escalations",
    "worklist",
    "quarantine",
    "ingest_batches",
    "invoice_sequences",
    "invoice_lines",
    "invoice_buyers",
)
# Not here: payment_exceptions and reminder_exclusions hold the latest evaluation (a second run sees
# the first run's reminders as history, so it may leave customers out for another reason).


def snapshot(home: Path) -> dict[str, str]:
    """A content hash of every business table, to prove a re-run changes nothing."""
    result = {}
    with open_ledger(load_settings(home).ledger_path) as ledger:
        for table in BUSINESS_TABLES:
            frame = ledger.con.execute(f"select * from {table}").df()
            frame = frame.drop(columns=[c for c in ("created_at", "loaded_at") if c in frame.columns])
            text = frame.sort_values(list(frame.columns[:2])).to_csv(index=False) if len(frame) else ""
            result[table] = hashlib.sha256(text.encode()).hexdigest()
    return result


@pytest.fixture(scope="module")
def ran(book_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("pipeline") / "home"
    loaded = ingest_flow(paths=book_files(book_dir), as_of=AS_OF, home=str(home))
    assert [r["outcome"] for r in loaded] == ["completed"] * 5
    result = order_to_cash(as_of=AS_OF, home=str(home))
    return home, result


def test_all_six_stages_complete(ran: tuple[Path, dict]) -> None:
    _home, result = ran
    assert list(result) == ["ingest", "invoice", "reconcile", "remind", "escalate", "report"]
    for stage in ("invoice", "reconcile", "remind", "escalate", "report"):
        assert result[stage]["outcome"] == "completed", stage
    assert result["invoice"]["counts"]["orders_billed"] > 0
    assert result["reconcile"]["counts"]["allocations"] > 0
    assert result["remind"]["delivery"]["sent"] == result["remind"]["counts"]["customers_reminded"] > 0


def test_every_invoice_and_payment_balances(ran: tuple[Path, dict]) -> None:
    home, _ = ran
    with open_ledger(load_settings(home).ledger_path) as ledger:
        invoices = ledger.query("report/open_items_as_of", as_of=AS_OF)
        payments = ledger.table("payments")
        allocations = ledger.table("allocations")
        adjustments = ledger.table("invoice_adjustments")
    applied_to_invoice = allocations.groupby("invoice_id")["amount_minor"].sum()
    allocated = invoices["invoice_id"].map(applied_to_invoice).fillna(0).astype("int64")
    written = adjustments.groupby("invoice_id")["amount_minor"].sum()
    written_off = invoices["invoice_id"].map(written).fillna(0).astype("int64")
    # amount = allocated + written off + open (nothing is credited yet); open >= 0
    assert (invoices["amount_minor"] == allocated + written_off + invoices["open_minor"]).all()
    assert (invoices["open_minor"] >= 0).all()
    applied_from_payment = allocations.groupby("payment_id")["amount_minor"].sum()
    unapplied = payments["amount_minor"] - payments["payment_id"].map(applied_from_payment).fillna(0).astype(
        "int64"
    )
    assert (unapplied >= 0).all()
    # cash in = cash applied + cash unapplied, per currency
    for currency, group in payments.assign(unapplied=unapplied).groupby("currency"):
        applied = int(allocations.loc[allocations["currency"] == currency, "amount_minor"].sum())
        assert int(group["amount_minor"].sum()) == applied + int(group["unapplied"].sum())
    # allocations never cross currencies
    merged = allocations.merge(
        payments[["payment_id", "currency"]], on="payment_id", suffixes=("", "_payment")
    )
    assert (merged["currency"] == merged["currency_payment"]).all()


def test_allocations_agree_with_the_truth(ran: tuple[Path, dict], book_dir: Path) -> None:
    home, _ = ran
    truth = pd.read_csv(book_dir / "truth" / "allocations.csv", dtype=str)
    with open_ledger(load_settings(home).ledger_path) as ledger:
        ours = ledger.table("allocations")
    true_pairs = set(zip(truth["payment_id"], truth["invoice_id"], strict=True))
    our_pairs = set(zip(ours["payment_id"], ours["invoice_id"], strict=True))
    # The reference rule only applies cash where the remittance names the invoice: it may miss
    # payments without a usable reference, but what it applies must be right.
    precision = len(our_pairs & true_pairs) / len(our_pairs)
    recall = len(our_pairs & true_pairs) / len(true_pairs)
    print(f"reference rule: precision {precision:.3f}, recall {recall:.3f} on {len(true_pairs)} true pairs")
    assert precision >= 0.97
    assert recall >= 0.5


def test_ageing_sums_to_open_amount_and_every_row_has_its_run(ran: tuple[Path, dict]) -> None:
    home, result = ran
    document = result["report"]["report"]
    assert document["as_of"] == AS_OF.isoformat()
    for currency, fig in document["currencies"].items():
        from tasks.platform.money import to_minor

        buckets = sum(to_minor(v, currency) for v in fig["ageing"].values())
        assert buckets == to_minor(fig["open_amount"], currency)
        assert set(fig["ageing"]) == {"not_due", "1-30", "31-60", "61-90", "91-120", "120+"}
    with open_ledger(load_settings(home).ledger_path) as ledger:
        for table in (
            "customers",
            "invoices",
            "payments",
            "allocations",
            "reminders",
            "worklist",
            "kpi_snapshots",
        ):
            missing = ledger.con.execute(
                f"select count(*) from {table} where run_id is null or run_id = ''"
            ).fetchone()
            assert missing == (0,), table
        billed_runs = ledger.con.execute(
            "select distinct run_id from invoices where origin = 'billed'"
        ).fetchall()
    assert billed_runs == [(result["invoice"]["run_id"],)]
    with open_ledger(load_settings(home).ledger_path) as ledger:
        unsnapped = ledger.con.execute(
            "select count(*) from invoices i where origin = 'billed'"
            " and not exists (select 1 from invoice_buyers b where b.invoice_id = i.invoice_id)"
        ).fetchone()
    assert unsnapped == (0,)  # every invoice billed keeps the buyer it was issued to


def test_outbox_holds_one_message_per_reminder_and_per_invoice_e_mailed(ran: tuple[Path, dict]) -> None:
    home, result = ran
    reminders = sorted((home / "outbox").glob("R-*.eml"))
    assert len(reminders) == result["remind"]["delivery"]["sent"]
    text = reminders[0].read_text()
    assert "Subject:" in text and "X-O2C-Reminder:" in text
    invoices = sorted((home / "outbox").glob("MAIL-*.eml"))
    assert (
        len(invoices) == result["invoice"]["delivery"]["sent"] == result["invoice"]["counts"]["emails_queued"]
    )
    assert len(invoices) + len(reminders) == len(list((home / "outbox").iterdir()))


def test_the_report_counts_reminders_by_their_business_date(ran: tuple[Path, dict]) -> None:
    # The run is dated AS_OF, in the past of the wall clock: the mailer accepts the reminders today
    # (after the report is written), and the report as of AS_OF counts them all the same.
    _home, result = ran
    sent = result["remind"]["delivery"]["sent"]
    assert sent > 0
    assert result["report"]["report"]["operations"]["reminders_sent"] == sent


def test_the_journal_balances_and_its_receivable_is_the_reports_open_amount(
    ran: tuple[Path, dict], tmp_path: Path
) -> None:
    import json
    import shutil

    from typer.testing import CliRunner

    from cli import app
    from tasks.platform.money import to_minor

    ran_home, result = ran
    # the shipped account map values every line in EUR: without rates the journal is refused, with
    # the company's rates loaded (a copy of the workspace: the pipeline's own stays without) it is
    # written, balanced in EUR per entity and day
    home = tmp_path / "home"
    shutil.copytree(ran_home, home)
    out = tmp_path / "journal.json"
    command = ["journal", "--to", AS_OF.isoformat(), "--out", str(out), "--home", str(home)]
    refused = CliRunner().invoke(app, command)
    assert (
        refused.exit_code != 0
        and "o2c rates load FILE" in refused.output
        and "Traceback" not in refused.output
    )
    with open_ledger(load_settings(home).ledger_path) as ledger:
        currencies = [c for (c,) in ledger.con.execute("select distinct currency from invoices").fetchall()]
        first = ledger.con.execute(
            "select least((select min(issue_date) from invoices), (select min(value_date) from payments))"
        ).fetchone()[0]
    rates = tmp_path / "rates.csv"
    days = pd.bdate_range(first - pd.Timedelta(days=7), AS_OF)
    rows = [f"{d.date()},EUR,{c},{1 + n / 7 + i / 10_000:.4f}" for i, d in enumerate(days)
            for n, c in enumerate(sorted(set(currencies) - {"EUR"}))]  # fmt: skip
    rates.write_text("rate_date,base_currency,currency,rate\n" + "\n".join(rows) + "\n", encoding="utf-8")
    loaded = CliRunner().invoke(app, ["rates", "load", str(rates), "--home", str(home)])
    assert loaded.exit_code == 0, loaded.output
    done = CliRunner().invoke(app, command)
    assert done.exit_code == 0, done.output
    journal = json.loads(out.read_text(encoding="utf-8"))
    assert journal["totals"] and all(t["debit_minor"] == t["credit_minor"] for t in journal["totals"])
    functional: dict[tuple[str, str], int] = {}
    for line in journal["lines"]:
        assert line["functional_currency"] == "EUR"
        key = (line["entity"], line["posting_date"])
        functional[key] = (
            functional.get(key, 0) + line["functional_debit_minor"] - line["functional_credit_minor"]
        )
    assert set(functional.values()) == {0}
    receivable: dict[str, int] = {}
    for line in journal["lines"]:
        if line["role"] == "receivable":
            receivable[line["currency"]] = (
                receivable.get(line["currency"], 0) + line["debit_minor"] - line["credit_minor"]
            )
    report = result["report"]["report"]["currencies"]
    assert receivable == {c: to_minor(f["open_amount"], c) for c, f in report.items()}
    assert "debits" in done.output and "receivable balance" in done.output


def test_a_pilot_is_compared_with_a_legacy_process(ran: tuple[Path, dict], tmp_path: Path) -> None:
    # The legacy process as o2c did it, less one application, another amount on one, one payment
    # o2c never saw, and one reminder fewer: o2c pilot compare finds exactly those, with reasons.
    import csv

    from typer.testing import CliRunner

    from cli import app
    from tasks.platform.money import to_major_str

    home, _ = ran
    with open_ledger(load_settings(home).ledger_path) as ledger:
        applied = ledger.con.execute(
            "select payment_id, invoice_id, amount_minor, currency from allocations order by 1, 2"
        ).fetchall()
        reminded = ledger.con.execute(
            "select customer_id, cast(as_of as date) from reminders order by 1"
        ).fetchall()
    assert len(applied) > 3 and len(reminded) > 1
    cash, sent = tmp_path / "legacy-cash.csv", tmp_path / "legacy-reminders.csv"
    with cash.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["payment_id", "invoice_id", "amount", "currency"])
        for n, (payment, invoice, amount, currency) in enumerate(applied):
            if n != 0:
                out.writerow(
                    [payment, invoice, to_major_str(amount + (1 if n == 1 else 0), currency), currency]
                )
        out.writerow(["LEGACY-ONLY", applied[0][1], "1.00", applied[0][3]])
    with sent.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["customer_id", "reminder_date"])
        out.writerows(reminded[1:])
    diff = tmp_path / "diff.csv"
    args = [
        "pilot",
        "compare",
        "--legacy",
        str(cash),
        "--legacy",
        str(sent),
        "--out",
        str(diff),
        "--home",
        str(home),
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(diff.open(newline="")))
    differences = sorted(
        (r["kind"], r["outcome"], r["payment_id"] or r["customer_id"])
        for r in rows
        if r["outcome"] != "agree"
    )
    assert differences == sorted(
        [
            ("allocation", "o2c only", applied[0][0]),
            ("allocation", "differ", applied[1][0]),
            ("allocation", "legacy only", "LEGACY-ONLY"),
            ("reminder", "o2c only", reminded[0][0]),
        ]
    )
    assert sum(r["outcome"] == "agree" for r in rows) == len(applied) - 2 + len(reminded) - 1
    assert "not in o2c's ledger" in done.output


def test_running_everything_again_changes_nothing(ran: tuple[Path, dict], book_dir: Path) -> None:
    home, _ = ran
    before = snapshot(home)
    again = ingest_flow(paths=book_files(book_dir), as_of=AS_OF, home=str(home))
    assert [r["outcome"] for r in again] == ["already ingested"] * 5
    second = order_to_cash(as_of=AS_OF, home=str(home))
    assert second["invoice"]["counts"]["orders_billed"] == 0
    assert second["reconcile"]["counts"]["allocations"] == 0
    assert second["remind"]["counts"]["customers_reminded"] == 0
    assert snapshot(home) == before


def test_the_same_rows_in_a_new_file_add_nothing(
    ran: tuple[Path, dict], book_dir: Path, tmp_path: Path
) -> None:
    home, _ = ran
    before = snapshot(home)
    renamed = tmp_path / "payments_copy.csv"
    # Same rows, different bytes (rows reversed): a new fingerprint, but every key is known.
    frame = pd.read_csv(book_dir / "payments.csv", dtype=str, keep_default_na=False)
    frame.iloc[::-1].to_csv(renamed, index=False)
    result = ingest_flow(paths=[str(renamed)], as_of=AS_OF, home=str(home))
    assert result[0]["outcome"] == "completed"
    after = snapshot(home)
    changed = {t for t in BUSINESS_TABLES if before[t] != after[t]}
    assert changed == {"ingest_batches"}  # only the record that the file was read
    with open_ledger(load_settings(home).ledger_path) as ledger:
        row = ledger.con.execute(
            "select rows_loaded, rows_already_present from ingest_batches where source = ?", [str(renamed)]
        ).fetchone()
    assert row == (0, len(frame))


def test_billed_invoices_keep_their_lines_and_their_terms(ran: tuple[Path, dict], tmp_path: Path) -> None:
    """Every billed invoice's total is the sum of its lines as billed; customers whose terms offer a
    discount get it on their billed invoices; both exports list what the ledger holds."""
    from pypdf import PdfReader
    from typer.testing import CliRunner

    from cli import app
    from tasks.platform import localized

    home, _ = ran
    with open_ledger(load_settings(home).ledger_path) as ledger:
        billed = ledger.con.execute(
            "select i.invoice_id, i.amount_minor, i.discount_amount_minor, c.payment_terms, c.language,"
            " sum(l.net_minor + l.tax_minor) as lines_minor"
            " from invoices i join invoice_lines l using (invoice_id) join customers c using (customer_id)"
            " where i.origin = 'billed' group by all"
        ).df()
        billed_count = ledger.con.execute("select count(*) from invoices where origin = 'billed'").fetchone()[
            0
        ]
    assert len(billed) == billed_count > 0
    assert (billed["amount_minor"] == billed["lines_minor"]).all()
    offered = billed["payment_terms"].fillna("") != ""
    assert offered.any() and (~offered).any()
    assert (
        billed.loc[offered, "discount_amount_minor"]
        == (2 * billed.loc[offered, "amount_minor"] * 20_000 + 1_000_000) // 2_000_000
    ).all()
    assert billed.loc[~offered, "discount_amount_minor"].isna().all()
    runner = CliRunner()
    for name in ("invoices", "invoice-lines"):
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(app, ["export", name, "--out", str(out), "--home", str(home)])
        assert result.exit_code == 0, result.output
    invoices = pd.read_csv(tmp_path / "invoices.csv", dtype=str)
    assert list(invoices.columns) == [
        "invoice_id",
        "customer_id",
        "order_id",
        "origin",
        "issue_date",
        "due_date",
        "currency",
        "net",
        "tax",
        "total",
        "open",
        "discount_date",
        "discount_amount",
        "kind",
        "credit_for_invoice",
    ]
    pdfs = sorted((home / "documents").glob("*.pdf"))
    assert [p.stem for p in pdfs] == sorted(billed["invoice_id"])
    assert all((home / "documents" / f"{p.stem}.html").is_file() for p in pdfs)
    first = billed.sort_values("invoice_id").iloc[0]
    text = "".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)
    assert first["invoice_id"] in text
    currency = invoices.set_index("invoice_id").loc[first["invoice_id"], "currency"]
    total = localized.money(
        int(first["amount_minor"]), currency, first["language"]
    )  # as its reader writes it
    assert total.replace("\xa0", " ") in text.replace("\xa0", " ")
    lines = pd.read_csv(tmp_path / "invoice-lines.csv", dtype=str)
    assert set(lines["invoice_id"]) == set(billed["invoice_id"])
    assert list(lines.columns) == [
        "invoice_id",
        "line_no",
        "order_id",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "tax_rate_ppm",
        "net",
        "tax",
        "total",
        "currency",
    ]

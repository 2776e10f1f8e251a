"""Hostile free text the ledger legitimately accepts is inert everywhere it comes out.

Formula text (`=HYPERLINK(...)`, `+1+1`, `-2+3`, `@SUM(A1)`, a leading tab or carriage return) and
markup (`<script>`, an `onerror` attribute, `"><b>`, Jinja's `{{7*7}}`, entity text `&amp;`) is put
into every free-text column a customer file, an order-lines file, an order book, a payments file
and a cases file carry. The real pipeline runs through the `o2c` command in one workspace with the
file mailer, over three business dates, so that those rows are billed (documents and invoice
e-mails), reminded up to the final notice, put in the exception queue, on the worklist, handed to
the collection agency and noticed to their account owners. Then:
- every export, as CSV and as XLSX: no cell a spreadsheet would run as a formula;
- the report page, the invoice documents (HTML), every HTML part of every e-mail: the text only
  escaped (no element or `on*` attribute from the data, `{{7*7}}` never evaluated);
- the invoice PDFs: the text literally, extractable;
- every e-mail's headers: one sane recipient, no line break in a header, the subject as rendered;
- the agency hand-over file and the statements reminders attach: as the exports;
- the Data Docs pages: nothing the data brought runs, and a refused value shows as text.

Ingest trims spaces, tabs and line ends around every value (a person's stray whitespace), so a
value given with a leading tab or carriage return is kept from its first visible character: the
guards are checked on what the ledger holds.
"""

from __future__ import annotations

import csv
import email
import email.policy
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tasks.report.export import EXPORTS

HOSTILE = (
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=TAB(1)",
    "\r=CR(1)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><b>bold',
    "{{7*7}}",
    "&amp; Co",
)
QUARANTINED = (HOSTILE[6], HOSTILE[7], HOSTILE[8])  # as a language: rows the contract refuses
KEPT = tuple(h.strip() for h in HOSTILE)  # what the ledger holds: ingest trims surrounding whitespace
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Elements only the data could have brought into a page: what runs or loads, and plain markup.
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "img", "form"}
FOREIGN_TAGS = ACTIVE_TAGS | {"b"}

# Day 1 bills the orders and sends the A customers' old invoices a first reminder, day 2 the second,
# and day 3 the final notice (before escalate hands them to the agency); the billed invoices are 46
# days overdue on day 3 (reminded, and the W customers on the worklist).
DAY_1, DAY_2, DAY_3 = "2026-06-05", "2026-06-16", "2026-08-20"


def _n(i: int) -> str:
    return f"{i:02d}"


def _rows(header: list[str], rows: list[list[str]]) -> str:
    """CSV text as a spreadsheet would write it (quoting what needs it: quotes, a CR, a tab)."""
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _book(folder: Path) -> list[Path]:
    """Customers A.. (an old invoice: reminded to the final notice, then the agency) and W.. (billed
    only: reminded, then the worklist), each named by one hostile text and carrying others in every
    free-text column; their orders' lines, payments nobody can match, and a promise with notes."""
    k = len(HOSTILE)
    customers, orders, lines, invoices, payments = [], [], [], [], []
    for i, text in enumerate(HOSTILE):
        other = HOSTILE[(i + 1) % k]
        for group in ("A", "W"):
            cid = f"{group}{_n(i)}"
            customers.append(
                [
                    cid,
                    text,
                    f"ap-{cid.lower()}@example.com",
                    "DE",
                    "EUR",
                    "30",
                    "",
                    other,  # segment
                    "standard",
                    "en",
                    text,  # tags
                    text,  # collector_group
                    f"owner-{cid.lower()}@example.com",
                ]
            )
            orders.append([f"SO-{cid}", cid, "2026-05-20", "EUR", "fulfilled", "2026-05-25"])
            lines.append([f"SO-{cid}", "1", text, other, "1", "600.00", "0.19"])
            lines.append([f"SO-{cid}", "2", "SKU-2", text, "2", "10.00", "0"])
        invoices.append([f"X-A{_n(i)}", f"A{_n(i)}", "2026-03-01", "2026-04-01", "EUR", "900.00"])
        # every text column but the BIC, which is checked as a BIC (a hostile one is refused)
        payments.append(
            [
                f"P-{_n(i)}",
                "2026-06-01",
                f"{12 + i}.34",
                "EUR",
                text,
                other,
                text,
                other,
                text,
                other,
                "COBADEFFXXX",
            ]
        )
    # Rows the customers' contract refuses (a language it does not know, and a hostile one): their
    # values reach the quarantine export and the Data Docs page listing what was unexpected.
    for q, language in enumerate(QUARANTINED):
        customers.append(
            [
                f"Q{_n(q)}",
                HOSTILE[0],
                f"ap-q{_n(q)}@example.com",
                "DE",
                "EUR",
                "30",
                "",
                "",
                "standard",
                language,
                "",
                "",
                "",
            ]
        )
    files = {
        "customers.csv": _rows(
            [
                "customer_id",
                "name",
                "email",
                "country",
                "currency",
                "payment_terms_days",
                "credit_limit",
                "segment",
                "dunning_profile",
                "language",
                "tags",
                "collector_group",
                "account_owner",
            ],
            customers,
        ),
        "orders.csv": _rows(
            ["order_id", "customer_id", "order_date", "currency", "status", "fulfilled_date"], orders
        ),
        "order_lines.csv": _rows(
            ["order_id", "line_no", "sku", "description", "quantity", "unit_price", "tax_rate"], lines
        ),
        "invoices.csv": _rows(
            ["invoice_id", "customer_id", "issue_date", "due_date", "currency", "amount"], invoices
        ),
        "payments.csv": _rows(
            [
                "payment_id",
                "value_date",
                "amount",
                "currency",
                "payer_name",
                "payer_account",
                "reference",
                "bank_reference",
                "end_to_end_id",
                "creditor_reference",
                "payer_bic",
            ],
            payments,
        ),
        "cases.csv": _rows(
            [
                "case_id",
                "kind",
                "customer_id",
                "invoice_id",
                "amount",
                "currency",
                "reason_code",
                "reason_text",
                "owner",
                "opened_on",
                "due_on",
            ],
            [
                [
                    "CASE-H1",
                    "promise",
                    "W00",
                    "",
                    "50.00",
                    "EUR",
                    HOSTILE[1],
                    HOSTILE[6],
                    HOSTILE[0],
                    DAY_1,
                    DAY_2,
                ],
            ],
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
        paths.append(folder / name)
    return paths


def _order_book(folder: Path) -> tuple[Path, Path]:
    """An order book (one file of lines carrying their customer), customers B00, B01 and B02."""
    rows = []
    for i, text in enumerate(HOSTILE):
        cid = f"B{_n(i % 3)}"
        rows.append(
            [f"OB-{_n(i % 3)}", cid, HOSTILE[i % 3], text, HOSTILE[(i + 5) % len(HOSTILE)], "1", "5.00"]
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shop_export.csv"
    path.write_text(
        _rows(["Order", "Customer", "Customer name", "Item", "Text", "Qty", "Price"], rows),
        encoding="utf-8",
        newline="",
    )
    mapping = folder / "shop_export.csv.mapping.yaml"  # read with it from the inbox
    mapping.write_text(
        """dataset: order_book
columns:
  order_id: Order
  customer_id: Customer
  name: Customer name
  sku: Item
  description: Text
  quantity: Qty
  unit_price: Price
constants:
  currency: EUR
  status: fulfilled
  tax_rate: "0"
  order_date: "2026-05-20"
  fulfilled_date: "2026-05-25"
  language: en
templates:
  email: "shop-{customer_id}@example.com"
"""
    )
    return path, mapping


@dataclass
class Workspace:
    home: Path
    out: Path


def _o2c(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    assert result.exit_code == 0, f"o2c {' '.join(args)}: {result.output}"
    return result.output


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One pipeline over three dates: bill (and e-mail) on day 1, remind on day 2, and on day 3
    remind again, put W.. on the worklist and hand A.. to the agency; then every export as CSV and
    XLSX, and the report page."""
    root = tmp_path_factory.mktemp("hostile")
    home, out = root / "home", root / "out"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("O2C_HOME", str(home))
        env.setenv("O2C_MAILER", "file")
        env.setenv("O2C_REPORT_RECIPIENTS", "finance@example.com")
        env.setenv("O2C_MAIL_DAILY_CAP", "9")  # every run happens today: let each date's reminder go
        _o2c(home, "ingest", *(str(p) for p in _book(root / "in")), "--as-of", DAY_1)
        _order_book(home / "inbox")  # the run's own ingest stage reads it
        _o2c(home, "run", "all", "--as-of", DAY_1)
        _o2c(home, "run", "remind", "--as-of", DAY_2)
        _o2c(home, "run", "all", "--as-of", DAY_3)
        out.mkdir()
        _o2c(home, "report", "--as-of", DAY_3, "--html", str(out / "report.html"))
        for name in EXPORTS:
            for suffix in (".csv", ".xlsx"):
                _o2c(home, "export", name, "--out", str(out / f"{name}{suffix}"))
        yield Workspace(home, out)


def _ledger(home: Path, sql: str) -> list[tuple]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return ledger.con.execute(sql).fetchall()


def _neutralised(text: str) -> str:
    """How an export writes a text cell: a leading `'` where a spreadsheet would run it."""
    return "'" + text if text.startswith(FORMULA_START) and not NUMBER.match(text) else text


def _csv_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _assert_no_formula(cell: str, where: str) -> None:
    assert not cell.startswith(FORMULA_START) or NUMBER.match(cell), f"{where}: {cell!r} would run"


class _Page(HTMLParser):
    """What a browser would build from a page: its elements with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _inert(html: str, where: str, foreign: set[str] = FOREIGN_TAGS) -> str:
    """Parse `html`; fail on any element (of `foreign`) or event attribute the data could have
    brought; return the page's text (entities decoded) for the caller to find the data in."""
    page = _Page()
    page.feed(html)
    page.close()
    for tag, attrs in page.tags:
        assert tag not in foreign, f"{where}: a <{tag}> element"
        for name, value in attrs:
            assert not name.lower().startswith("on"), f"{where}: <{tag} {name}=...>"
            assert "evil" not in (value or "") and "alert(" not in (value or ""), (
                f"{where}: <{tag} {name}={value}>"
            )
    return "".join(page.text)


def _customer_names(home: Path) -> dict[str, str]:
    return dict(_ledger(home, "select customer_id, name from customers"))  # type: ignore[arg-type]


# --- the data went in, and went everywhere -------------------------------------------------------


def test_the_hostile_rows_are_accepted_and_worked(ran: Workspace) -> None:
    home = ran.home
    # every hostile row is accepted but those made to break the contract
    assert _ledger(home, "select dataset, key from quarantine order by key") == [
        ("customers", f"Q{_n(q)}") for q in range(len(QUARANTINED))
    ]
    names = _customer_names(home)
    assert len(names) == 2 * len(HOSTILE) + 3
    assert {names[f"A{_n(i)}"] for i in range(len(HOSTILE))} == set(KEPT)
    descriptions = {d for (d,) in _ledger(home, "select description from invoice_lines")}
    assert set(KEPT) <= descriptions
    kept = _ledger(home, "select payer_name, reference from payments order by payment_id")
    assert [p for p, _ in kept] == list(KEPT)
    assert _ledger(home, "select reason_text, owner from cases") == [(KEPT[6], KEPT[0])]
    billed = _ledger(home, "select count(*) from invoices where origin = 'billed'")[0][0]
    assert billed == 2 * len(HOSTILE) + 3
    queued = {p for (p,) in _ledger(home, "select payment_id from payment_exceptions")}
    assert queued == {f"P-{_n(i)}" for i in range(len(HOSTILE))}
    levels = dict(_ledger(home, "select customer_id, max(level) from reminders group by all"))
    assert all(levels[f"A{_n(i)}"] == 3 for i in range(len(HOSTILE)))
    assert all(levels.get(f"W{_n(i)}", 0) >= 1 for i in range(len(HOSTILE)))
    groups = {g for (g,) in _ledger(home, "select collector_group from worklist")}
    assert set(KEPT) <= groups
    assert sorted((home / "agency").glob("agency-*.csv"))
    owners = {r for (r,) in _ledger(home, "select recipient from owner_notices")}
    assert {f"owner-a{_n(i)}@example.com" for i in range(len(HOSTILE))} <= owners


# --- spreadsheets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORTS)
def test_no_csv_export_cell_runs_as_a_formula(ran: Workspace, name: str) -> None:
    for r, row in enumerate(_csv_cells(ran.out / f"{name}.csv")):
        for c, cell in enumerate(row):
            _assert_no_formula(cell, f"{name}.csv row {r} column {c}")


@pytest.mark.parametrize("name", EXPORTS)
def test_no_xlsx_export_cell_is_a_formula(ran: Workspace, name: str) -> None:
    from openpyxl import load_workbook

    path = ran.out / f"{name}.xlsx"
    with zipfile.ZipFile(path) as book:
        for member in book.namelist():
            if member.startswith("xl/worksheets/"):
                assert b"<f>" not in book.read(member) and b"<f " not in book.read(member), member
    for row in load_workbook(path).active.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{name}.xlsx {cell.coordinate}: {cell.value!r}"
            if isinstance(cell.value, str):
                _assert_no_formula(cell.value, f"{name}.xlsx {cell.coordinate}")


def test_the_hostile_text_is_in_the_exports_neutralised_and_otherwise_literal(ran: Workspace) -> None:
    """The guard changes only what it must: each text is there, with a leading `'` where it would
    run, and the markup as it was (a spreadsheet does not read HTML)."""
    from openpyxl import load_workbook

    expected = {_neutralised(t) for t in KEPT}
    for name, columns in {
        "exceptions": ("payer_name", "reference"),
        "invoice-lines": ("sku", "description"),
        "worklist": ("collector_group",),
    }.items():
        header, *rows = _csv_cells(ran.out / f"{name}.csv")
        for column in columns:
            assert expected <= {row[header.index(column)] for row in rows}, (name, column)
        sheet = load_workbook(ran.out / f"{name}.xlsx").active
        values = list(sheet.values)
        for column in columns:
            at = list(values[0]).index(column)
            assert expected <= {row[at] for row in values[1:]}, (f"{name}.xlsx", column)


def test_the_agency_file_is_neutralised(ran: Workspace) -> None:
    (path,) = sorted((ran.home / "agency").glob("agency-*.csv"))
    header, *rows = _csv_cells(path)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            _assert_no_formula(cell, f"{path.name} row {r + 1} column {header[c]}")
    assert {row[header.index("name")] for row in rows} == {_neutralised(t) for t in KEPT}


# --- pages ---------------------------------------------------------------------------------------


def test_the_report_page_is_inert(ran: Workspace) -> None:
    for path in [ran.out / "report.html", *sorted((ran.home / "reports").glob("*.html"))]:
        _inert(path.read_text(encoding="utf-8"), path.name)


def test_every_page_in_the_workspace_is_inert(ran: Workspace) -> None:
    """Documents, reports, Data Docs: whatever HTML the pipeline left in the workspace runs nothing
    the data brought; the product's own pages (not Data Docs, below) carry no markup from it at all."""
    pages = sorted(ran.home.rglob("*.html"))
    assert len(pages) >= 2 * len(HOSTILE) + 3
    for path in pages:
        where = str(path.relative_to(ran.home))
        data_docs = "data_docs" in path.parts
        _inert(path.read_text(encoding="utf-8"), where, ACTIVE_TAGS if data_docs else FOREIGN_TAGS)


def test_data_docs_show_a_refused_value_as_text(ran: Workspace) -> None:
    (page,) = ran.home.glob("data_docs/*/ingest/customers-customers-csv.html")
    text = _inert(page.read_text(encoding="utf-8"), page.name)
    for value in QUARANTINED:
        assert value in text, value


def _documents(home: Path) -> list[tuple[str, str]]:
    return _ledger(home, "select invoice_id, customer_id from invoices where origin = 'billed' order by 1")  # type: ignore[return-value]


def test_invoice_documents_show_the_text_literally(ran: Workspace) -> None:
    from pypdf import PdfReader

    names = _customer_names(ran.home)
    lines = _ledger(ran.home, "select invoice_id, sku, description from invoice_lines")
    for invoice_id, customer_id in _documents(ran.home):
        folder = ran.home / "documents"
        text = _inert((folder / f"{invoice_id}.html").read_text(encoding="utf-8"), f"{invoice_id}.html")
        assert names[customer_id] in text and customer_id in text
        pdf = "\n".join(page.extract_text() for page in PdfReader(folder / f"{invoice_id}.pdf").pages)
        assert _unspaced(names[customer_id]) in _unspaced(pdf) and customer_id in pdf, (invoice_id, pdf)
        for line_invoice, sku, description in lines:
            if line_invoice == invoice_id:
                item = " ".join(x for x in (sku, description) if x)
                assert item in text
                # printed whole, wrapped within its column where it is long
                assert _unspaced(item) in _unspaced(pdf), (invoice_id, item, pdf)


# --- e-mails -------------------------------------------------------------------------------------


HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def _messages(home: Path) -> list[tuple[Path, email.message.EmailMessage]]:
    found = []
    for path in sorted((home / "outbox").glob("*.eml")):
        raw = path.read_bytes()
        for line in raw.split(b"\r\n" if b"\r\n" in raw else b"\n"):
            if not line:
                break  # end of the top-level headers
            # every header line is a field or a folded continuation, never a bare line
            assert re.match(rb"^([A-Za-z0-9-]+:|[ \t])", line), (path.name, line)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        found.append((path, message))  # type: ignore[arg-type]
    return found


def test_every_email_is_sane_and_its_html_inert(ran: Workspace) -> None:
    home = ran.home
    names = _customer_names(home)
    addresses = dict(_ledger(home, "select customer_id, email from customers"))
    owners = dict(_ledger(home, "select customer_id, account_owner from customers"))
    expected_to = set(addresses.values()) | set(owners.values()) | {"finance@example.com"}
    messages = _messages(home)
    kinds: dict[str, int] = {}
    for path, message in messages:
        extra = {k.lower() for k in message} - HEADERS
        assert len(extra) == 1 and next(iter(extra)).startswith("x-o2c-"), (path.name, message.keys())
        kinds[next(iter(extra))] = kinds.get(next(iter(extra)), 0) + 1
        for key, value in message.items():
            assert "\r" not in str(value) and "\n" not in str(value), (path.name, key, value)
        assert len(message.get_all("To") or []) == 1, path.name
        to = message["To"]
        assert len(to.addresses) == 1 and to.addresses[0].addr_spec in expected_to, (path.name, to)
        assert message.get_all("Bcc") is None and message.get_all("Cc") is None
        body = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert body is not None and html is not None, path.name
        shown = _inert(html.get_content(), path.name)
        recipient = to.addresses[0].addr_spec
        customer = next((c for c, a in {**addresses, **owners}.items() if a == recipient), None)
        if customer is not None and customer in names:
            name = names[customer]
            assert name in body.get_content(), (path.name, name)  # plain text: as it is
            assert name in shown, (path.name, name)  # HTML: escaped, so read back literally
    assert kinds.get("x-o2c-reminder", 0) >= 3 * len(HOSTILE)
    assert kinds.get("x-o2c-invoice", 0) == 2 * len(HOSTILE) + 3
    assert sum(
        v for k, v in kinds.items() if k not in ("x-o2c-reminder", "x-o2c-invoice", "x-o2c-report")
    ) >= len(HOSTILE)


def test_statement_attachments_are_neutralised(ran: Workspace) -> None:
    """The statement of account a second reminder or final notice attaches, read as a spreadsheet."""
    import io

    seen = 0
    for path, message in _messages(ran.home):
        for part in message.iter_attachments():
            if part.get_content_type() != "text/csv":
                continue
            content = part.get_content()
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            for r, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
                for c, cell in enumerate(row):
                    _assert_no_formula(cell, f"{path.name} {part.get_filename()} row {r} column {c}")
            seen += 1
    assert seen >= 2 * len(HOSTILE)  # the A customers' second reminders and final notices


def test_owner_notice_subjects_carry_the_name_as_text(ran: Workspace) -> None:
    names = _customer_names(ran.home)
    owners = {a: c for c, a in _ledger(ran.home, "select customer_id, account_owner from customers")}
    seen = 0
    for _path, message in _messages(ran.home):
        to = message["To"]
        customer = owners.get(to.addresses[0].addr_spec)
        if customer is None:
            continue
        # .strip(): Python's e-mail folding may put a long subject on a continuation line
        assert (
            message["Subject"].strip()
            == f"Escalation: {names[customer]} ({customer}) is now collection_agency"
        )
        seen += 1
    assert seen == len(HOSTILE)


def _unspaced(text: str) -> str:
    """Text without its spaces and line breaks: a PDF's wrapped lines compared with the text whole."""
    return "".join(text.split())

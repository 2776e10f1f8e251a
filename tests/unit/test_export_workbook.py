"""An XLSX export a finance person can work in: header in view with filters, widths, amounts as
numbers in their currency's decimals, dates as dates, the customer's name beside its id, and no
text ever a formula."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from tasks.report.export import to_major_units, write


def test_the_workbook_is_formatted_for_people(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "invoice_id": ["O2C-2026-000001", "O2C-2026-000002", "X-3"],
            "customer_id": ["C1", "C2", "C9"],
            "currency": ["EUR", "JPY", "EUR"],
            "due_date": pd.to_datetime(["2026-04-30", "2026-05-31", "2026-06-30"]),
            "open_minor": [123_456_78, 15000, -5],
            "note": ['=HYPERLINK("http://evil")', "plain", None],
        }
    )
    out = tmp_path / "open.xlsx"
    write(to_major_units(frame), out, {"C1": "Acme GmbH", "C2": "Kabushiki KK"})
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]] == [
        "invoice_id",
        "customer_id",
        "customer_name",
        "currency",
        "due_date",
        "open",
        "note",
    ]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G4"
    assert [c.value for c in sheet["C"][1:]] == ["Acme GmbH", "Kabushiki KK", None]  # C9 unknown: empty
    amounts = sheet["F"][1:]
    assert [c.value for c in amounts] == [123456.78, 15000, -0.05]  # a workbook holds numbers as doubles
    assert [c.number_format for c in amounts] == ["#,##0.00", "#,##0", "#,##0.00"]
    assert sheet["E2"].value.date() == date(2026, 4, 30) and sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["G2"].data_type == "s" and sheet["G2"].value == '\'=HYPERLINK("http://evil")'
    assert sheet.column_dimensions["A"].width >= len("O2C-2026-000001")


def test_a_csv_export_is_unchanged_by_the_workbook_names(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["C1"], "currency": ["EUR"], "open_minor": [100]})
    out = tmp_path / "open.csv"
    write(to_major_units(frame), out, {"C1": "Acme"})
    assert out.read_text().splitlines() == ["customer_id,currency,open", "C1,EUR,1.00"]

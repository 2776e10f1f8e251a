"""What a run started from the Prefect UI gets: typed parameters (stages, policy profile, sources)
validated before it starts, and an e-mail to finance ops when it fails."""

from __future__ import annotations

import email
from datetime import date
from email import policy as email_policy
from pathlib import Path

import pytest
from prefect.exceptions import ParameterTypeError

from flows.ingest import ingest_flow
from flows.order_to_cash import order_to_cash
from flows.remind import remind_flow
from flows.report import report_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import CUSTOMER_HEADER, load

AS_OF = date(2026, 11, 20)
CUSTOMERS = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
OVERDUE = "X-1,K1,2026-09-01,2026-10-01,EUR,700.00,\n"


def stage_runs(home: Path) -> list[dict]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return ledger.table("stage_runs").sort_values("finished_at").to_dict("records")


def failure_mails(home: Path) -> list[email.message.EmailMessage]:
    found = sorted((home / "outbox").glob("run-failed-*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=email_policy.default) for p in found]  # type: ignore[misc]


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def test_only_the_chosen_stages_run_in_pipeline_order(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=OVERDUE)
    before = len(stage_runs(home))
    result = order_to_cash(as_of=AS_OF, stages=["report", "remind"], home=str(home))
    assert list(result) == ["remind", "report"]
    assert [r["stage"] for r in stage_runs(home)[before:]] == ["remind", "report"]


@pytest.mark.parametrize(
    "parameters",
    [
        {"stages": ["bill"]},
        {"stages": []},
        {"policy_profile": "lenient"},
        {"sources": {"paths": ["a.csv"], "folder": "x"}},
    ],
)
def test_bad_parameters_are_refused_before_the_run_starts(home: Path, parameters: dict) -> None:
    with pytest.raises(ParameterTypeError):
        order_to_cash(as_of=AS_OF, home=str(home), **parameters)
    assert not load_settings(home).ledger_path.exists()


def test_the_report_period_is_bounded(home: Path) -> None:
    with pytest.raises(ParameterTypeError):
        report_flow(as_of=AS_OF, home=str(home), period_days=0)


def test_the_holiday_profile_sends_no_second_reminder_and_is_recorded(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=OVERDUE)  # 50 days overdue
    remind_flow(as_of=AS_OF, home=str(home), policy_profile="holiday")  # the first reminder
    last = stage_runs(home)[-1]
    assert last["stage"] == "remind" and last["rule_version"].startswith("holiday/v2-")
    later = date(2026, 12, 2)
    standard = remind_flow(as_of=later, home=str(home), dry_run=True)
    holiday = remind_flow(as_of=later, home=str(home), dry_run=True, policy_profile="holiday")
    assert [r["level"] for r in standard["planned"]["reminders"]] == [2]
    assert holiday["planned"]["reminders"] == []


def test_a_failed_run_emails_finance_ops_once_naming_stage_reason_and_what_was_left(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_OPS_RECIPIENTS", "ops@example.com; controller@example.com")
    broken = tmp_path / "customers.csv"
    broken.write_text(
        CUSTOMER_HEADER.replace("currency,", "") + "K1,Acme,ap@acme.example,DE,30,,,standard,en,\n"
    )
    state = order_to_cash(
        as_of=AS_OF,
        stages=["ingest", "invoice", "report"],
        sources={"paths": [str(broken)]},
        home=str(home),
        return_state=True,
    )
    assert state.is_failed()
    mails = failure_mails(home)
    # one per recipient, from the pipeline's run only (the ingest subflow leaves it to its parent)
    assert sorted(m["To"] for m in mails) == ["controller@example.com", "ops@example.com"]
    message = mails[0]
    assert message["Subject"] == "o2c: order-to-cash 2026-11-20 failed at ingest"
    body = text_of(message)
    assert "customers.csv: missing required column(s) currency" in body
    assert "ingest published nothing" in body
    assert "invoice, report did not run." in body
    assert "Business date: 2026-11-20" in body
    assert not load_settings(home).ledger_path.exists() or stage_runs(home) == []


def test_a_halted_stage_run_on_its_own_says_nothing_was_published(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_OPS_RECIPIENTS", "ops@example.com")
    bad = tmp_path / "customers.csv"  # two of three rows lack their currency: above the 50 % ceiling
    bad.write_text(
        CUSTOMER_HEADER + CUSTOMERS + "K2,Bolt,,US,,30,,,standard,en,\nK3,Cog,,US,,30,,,standard,en,\n"
    )
    state = ingest_flow(paths=[str(bad)], as_of=AS_OF, home=str(home), return_state=True)
    assert state.is_failed() and state.name == "Halted"
    [message] = failure_mails(home)
    assert message["Subject"] == "o2c: ingest 2026-11-20 failed"
    body = text_of(message)
    assert "ingest halted, nothing published" in body
    assert "nothing was published: a checkpoint halted the stage" in body
    [run] = stage_runs(home)
    assert run["outcome"] == "halted"


def test_a_run_without_ops_recipients_sends_nothing(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "customers.csv"
    bad.write_text("customer_id\nK1\n")
    state = ingest_flow(paths=[str(bad)], as_of=AS_OF, home=str(home), return_state=True)
    assert state.is_failed() and state.name == "Rejected"
    assert failure_mails(home) == []

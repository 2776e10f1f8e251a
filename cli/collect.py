"""The commands collectors decide with, each decision one audited change on the ledger: applying
cash by hand and taking it back (`apply`, `unapply`), cases (`case open/resolve/list`: disputes,
deductions and promises), credit holds (`hold place/release`), write-offs with four eyes
(`writeoff propose/approve/reject/list`), and the e-mails that need a person (`outbox list/retry/
mark-sent`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from cli.common import AsJson, AsOf, By, Home, as_date, business_date, deciding, fail, reading, show_rows
from tasks.platform.config import load_settings

case_app = typer.Typer(no_args_is_help=True, help="Open, resolve and list disputes, deductions and promises.")
hold_app = typer.Typer(no_args_is_help=True, help="Place and release credit holds (who, when, why).")
writeoff_app = typer.Typer(no_args_is_help=True, help="Propose, list and approve write-offs (four eyes).")
outbox_app = typer.Typer(
    no_args_is_help=True, help="E-mails that need a person: in doubt, failed or retrying; retry or mark sent."
)
MessageId = Annotated[str, typer.Argument(help="The message id (from `o2c outbox list`).")]
WriteOffId = Annotated[str, typer.Argument(help="The proposal id (WO-000001).")]


def apply(
    payment: Annotated[str, typer.Option("--payment", help="Payment id to take the cash from.")],
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice id to apply the cash to.")],
    by: By,
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount",
            help="Decimal in major units of the payment's currency"
            " (default: the lesser of its unapplied and the invoice's open amount).",
        ),
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            help="For a payment and an invoice of two currencies: units of the invoice's currency per"
            " unit of the payment's, as the bank converted (default: the reference rate of the"
            " payment's value date, o2c rates load).",
        ),
    ] = None,
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Apply cash from a payment to an invoice by hand (working the exception queue); prints the allocation id."""
    from tasks.platform.cash_decisions import apply_manually

    today = business_date(as_of)
    with deciding(home) as (ledger, _settings, run_id):
        applied = apply_manually(ledger, payment, invoice, amount, by, run_id=run_id, today=today, rate=rate)
    typer.echo(applied["allocation_id"])


def unapply(
    allocation: Annotated[str, typer.Option("--allocation", help="Allocation id (`<payment>/<invoice>`).")],
    by: By,
    home: Home = None,
) -> None:
    """Take an allocation back: the cash is unapplied on its payment and open on its invoice again."""
    from tasks.platform.cash_decisions import unapply as unapply_allocation

    with deciding(home) as (ledger, _settings, run_id):
        removed = unapply_allocation(ledger, allocation, by, run_id=run_id)
    typer.echo(
        f"removed {removed['allocation_id']}: {removed['amount']} {removed['currency']} from payment"
        f" {removed['payment_id']} to invoice {removed['invoice_id']} (rule {removed['rule']})"
    )


@case_app.command("open")
def case_open(
    kind: Annotated[str, typer.Option("--kind", help="dispute, deduction or promise.")],
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    amount: Annotated[
        str, typer.Option("--amount", help="Decimal in major units of the invoices' currency.")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Reason code (pricing, quality, not_received, ...).")
    ],
    by: By,
    invoice: Annotated[
        list[str] | None, typer.Option("--invoice", help="An invoice the case is about (repeat for several).")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="What the customer said.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who works the case (default: --by).")] = None,
    due: Annotated[
        str | None,
        typer.Option("--due", help="YYYY-MM-DD: a promise's date, or when the case should be done."),
    ] = None,
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Open a case; prints its id (CASE-000001)."""
    from tasks.escalate import cases

    today = business_date(as_of)
    with deciding(home) as (ledger, _settings, run_id):
        row = cases.open_case(
            ledger,
            kind=kind,
            customer_id=customer,
            invoice_ids=invoice or [],
            amount_text=amount,
            reason_code=reason,
            reason_text=text,
            owner=owner,
            due_on=as_date(due) if due else None,
            by=by,
            run_id=run_id,
            today=today,
        )
    typer.echo(row["case_id"])


@case_app.command("resolve")
def case_resolve(
    case_id: Annotated[str, typer.Argument(help="The case id (CASE-000001, or a deduction's D-...).")],
    by: By,
    rejected: Annotated[
        bool, typer.Option("--rejected", help="The claim is rejected (or a promise withdrawn).")
    ] = False,
    credit_note: Annotated[
        str | None,
        typer.Option(
            "--credit-note", help="A dispute resolved for the customer: credit this much (major units)."
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What was decided.")] = None,
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Close an open case: resolved (optionally with a credit note) or rejected."""
    from tasks.escalate import cases
    from tasks.invoice.ledger_documents import write_from_ledger

    today = business_date(as_of)
    with deciding(home) as (ledger, settings, run_id):
        closed = cases.resolve_case(
            ledger,
            case_id,
            by=by,
            rejected=rejected,
            note=note,
            credit_text=credit_note,
            series=settings.invoice_series,
            run_id=run_id,
            today=today,
        )
        if closed["credit_note_id"]:
            ids = [closed["credit_note_id"]]
            write_from_ledger(ledger, ids, settings.home / "documents", settings.seller, settings.templates)
    extra = f", credit note {closed['credit_note_id']}" if closed["credit_note_id"] else ""
    typer.echo(f"{closed['case_id']} {closed['status']} by {closed['resolved_by']}{extra}")


@case_app.command("list")
def case_list(
    status: Annotated[
        str | None, typer.Option("--status", help="open, resolved, rejected, kept or broken.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="dispute, deduction or promise.")] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Cases, open ones first by due date: kind, customer, invoices, amount, reason, owner, status."""
    from tasks.escalate import listing

    settings = load_settings(home)
    with reading(settings) as ledger:
        shown = listing.cases(ledger, status=status, kind=kind)
    show_rows(shown, as_json, _case_line, "no cases")


def _case_line(r: dict[str, Any]) -> str:
    due_text = f" due {r['due_on']}" if r["due_on"] else ""
    return (
        f"{r['case_id']}  {r['kind']:<9} {r['customer_id']:<10} {','.join(r['invoices']) or '(customer)'}"
        f"  {r['amount']:>12} {r['currency']}  {r['reason_code']}  {r['status']}{due_text}  owner {r['owner']}"
    )


@hold_app.command("place")
def hold_place(
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the customer is held.")],
    by: By,
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Put a customer on credit hold; prints the hold id."""
    from tasks.escalate import holds

    today = business_date(as_of)
    with deciding(home) as (ledger, _settings, run_id):
        hold = holds.place(ledger, customer, reason, by, run_id=run_id, today=today)
    typer.echo(hold["hold_id"])


@hold_app.command("release")
def hold_release(
    target: Annotated[str, typer.Argument(help="A hold id, or a customer id (every hold in force on it).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold may go (required).")],
    by: By,
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Release a credit hold, with the reason; prints the holds released."""
    from tasks.escalate import holds

    today = business_date(as_of)
    with deciding(home) as (ledger, _settings, run_id):
        released = holds.release(ledger, target, reason, by, run_id=run_id, today=today)
    for hold in released:
        typer.echo(
            f"{hold['hold_id']} released ({hold['customer_id']}, placed {str(hold['placed_on'])[:10]} by {hold['placed_by']})"
        )


@writeoff_app.command("propose")
def writeoff_propose(
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice id.")],
    amount: Annotated[
        str, typer.Option("--amount", help="Decimal in major units of the invoice's currency.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the amount is written off.")],
    by: By,
    home: Home = None,
) -> None:
    """Propose writing an amount off an invoice; prints the proposal id (WO-000001)."""
    from tasks.escalate import writeoffs

    with deciding(home) as (ledger, _settings, run_id):
        row = writeoffs.propose(ledger, invoice, amount, reason, by, run_id=run_id)
    typer.echo(row["write_off_id"])


@writeoff_app.command("approve")
def writeoff_approve(write_off_id: WriteOffId, by: By, as_of: AsOf = None, home: Home = None) -> None:
    """Approve a proposal (not your own, within your limit): it closes that much of the invoice."""
    _writeoff_decision(write_off_id, by, True, None, as_of, home)


@writeoff_app.command("reject")
def writeoff_reject(
    write_off_id: WriteOffId,
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Reject a proposal, with the reason; the invoice stays open."""
    _writeoff_decision(write_off_id, by, False, reason, as_of, home)


def _writeoff_decision(
    write_off_id: str, by: str, approve: bool, note: str | None, as_of: str | None, home: str | None
) -> None:
    from rules.writeoffs import WriteOffPolicy
    from tasks.escalate import writeoffs
    from tasks.platform.money import to_major_str
    from tasks.platform.policy import load_policy

    today = business_date(as_of)
    with deciding(home) as (ledger, settings, run_id):
        policy, version = load_policy("writeoffs", WriteOffPolicy, rules_dir=settings.rules_dir)
        row = writeoffs.decide(
            ledger,
            write_off_id,
            by,
            policy,
            approve=approve,
            note=note,
            run_id=run_id,
            rule_version=version,
            today=today,
        )
    amount = to_major_str(int(row["amount_minor"]), str(row["currency"]))
    typer.echo(
        f"{row['write_off_id']} {row['status']} by {row['decided_by']}: {amount} {row['currency']} on {row['invoice_id']}"
    )


@writeoff_app.command("list")
def writeoff_list(as_json: AsJson = False, home: Home = None) -> None:
    """Every write-off, newest first: amount, invoice, status, who proposed and who decided."""
    from tasks.escalate import listing

    settings = load_settings(home)
    with reading(settings) as ledger:
        shown = listing.writeoffs(ledger)
    show_rows(shown, as_json, _writeoff_line, "no write-offs")


def _writeoff_line(r: dict[str, Any]) -> str:
    decided = f", {r['status']} by {r['decided_by']}" if r["decided_by"] else ""
    return (
        f"{r['write_off_id']}  {r['invoice_id']}  {r['amount']:>12} {r['currency']}  {r['status']:<8}"
        f"  proposed by {r['proposed_by']}{decided}: {r['reason']}"
    )


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Any state: queued, sending, sent, retrying, failed or unknown."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="reminder, invoice, escalation or report.")
    ] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Messages needing attention (unknown, failed, retrying), newest first: id, kind, recipient,
    status, attempts, next attempt, reason."""
    from tasks.platform import outbox_decisions

    with deciding(home) as (ledger, _settings, _run_id):
        shown = outbox_decisions.attention_list(ledger, status=status, kind=kind)
    empty = "no messages need attention" if status is None else f"no messages {status}"
    show_rows(shown, as_json, _message_line, empty)


def _message_line(r: dict[str, Any]) -> str:
    return (
        f"{r['message_id']}  {r['kind']:<10} {r['recipient'] or '(no address)'}  {r['status']:<8}"
        f"  attempts {r['attempts']}  next {r['next_attempt_at'] or '-'}  {r['reason'] or ''}"
    )


@outbox_app.command("retry")
def outbox_retry(message_id: MessageId, by: By, home: Home = None) -> None:
    """Queue a message in doubt (unknown) or given up (failed after its retries) again, once you
    have checked the provider did not deliver it: the next delivery sends it."""
    _outbox_decision(message_id, by, home, retry=True)


@outbox_app.command("mark-sent")
def outbox_mark_sent(message_id: MessageId, by: By, home: Home = None) -> None:
    """Mark a message in doubt (unknown) sent, once you have checked the provider delivered it."""
    _outbox_decision(message_id, by, home, retry=False)


def _outbox_decision(message_id: str, by: str, home: str | None, *, retry: bool) -> None:
    from tasks.platform import outbox_decisions

    decide = outbox_decisions.retry if retry else outbox_decisions.mark_sent
    now = datetime.now().replace(microsecond=0)
    with deciding(home) as (ledger, _settings, run_id):
        row = decide(ledger, message_id, by, run_id=run_id, now=now)
    if retry:
        typer.echo(
            f"{row['message_id']} queued again by {row['decided_by']} (was {row['before']});"
            f" the next {outbox_decisions.stage_of(row)} run delivers it"
        )
    else:
        typer.echo(f"{row['message_id']} marked sent by {row['decided_by']} (was {row['before']})")


def statement(
    customer_id: Annotated[str, typer.Argument(help="The customer, as in the customer master.")],
    out: Annotated[str, typer.Option("--out", help="The PDF file to write.")],
    as_of: AsOf = None,
    home: Home = None,
) -> None:
    """Write a customer's statement of account as a PDF: open items, the payments of the last 90
    days, cash on account and the balance per currency, as the ledger stood on the date."""
    from pathlib import Path

    from tasks.platform import localized
    from tasks.platform.files import write_whole
    from tasks.platform.policy import PolicyError
    from tasks.remind.statement import statement_pdf
    from tasks.remind.statement_files import statements_as_of

    settings = load_settings(home)
    day = business_date(as_of)
    try:
        with reading(settings) as ledger:
            found = statements_as_of(ledger, settings, [customer_id], day)
    except PolicyError as exc:
        fail(str(exc))
    if customer_id not in found:
        fail(f"no customer {customer_id!r} in the customer master")
    shown = found[customer_id]
    write_whole(Path(out), statement_pdf(shown))
    owed = ", ".join(localized.money(b[2], c, "en") for c, b in shown.balances().items()) or "nothing open"
    typer.echo(
        f"statement of {customer_id} as of {day.isoformat()}: {out} ({len(shown.items)} open items; balance due {owed})"
    )

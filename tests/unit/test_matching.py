"""Cash application passes, as small literal books: references, payers, amounts, and the traps."""

from __future__ import annotations

import json
import random
from datetime import date
from functools import cache

import pandas as pd

from tasks.reconcile.apply import apply_cash
from tasks.reconcile.matching import (
    PayerDirectory,
    combinations_summing_to,
    normalise_name,
    rf_reference_valid,
)
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tests.unit.tables import table

AS_OF = date(2026, 3, 31)
INVOICES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor |
    | INV-2026-000101 | ACME        | EUR      | 2026-01-10 | 100_00     |
    | INV-2026-000102 | ACME        | EUR      | 2026-01-20 | 250_00     |
    | INV-2026-000103 | ACME        | EUR      | 2026-01-25 | 250_00     |
    | INV-2026-000104 | ACME        | EUR      | 2026-02-01 | 80_00      |
    | INV-2026-000201 | GLOBEX      | EUR      | 2026-01-15 | 300_00     |
    | INV-2026-000202 | GLOBEX      | EUR      | 2026-01-16 | 0          |
""")


@cache
def payers() -> PayerDirectory:
    """The payer directory of these books (the policy's name threshold, read when first used)."""
    return PayerDirectory(
        {"DE89370400440532013000": "ACME", "GB29NWBK60161331926819": "GLOBEX"},
        {"ACME": "Acme GmbH", "GLOBEX": "Globex Corporation Ltd"},
        default_policy().payer.name_threshold,
    )


def run(payments: str) -> CashApplication:
    return apply_cash(
        table(payments), INVOICES, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=payers()
    )


def applied(cash: CashApplication) -> list[tuple[str, str, int, str]]:
    return list(
        cash.allocations[["payment_id", "invoice_id", "amount_minor", "rule"]].itertuples(
            index=False, name=None
        )
    )


def exception(cash: CashApplication, payment_id: str) -> tuple[str, list[str]]:
    row = cash.exceptions.set_index("payment_id").loc[payment_id]
    return row["reason"], [s["invoice_id"] for s in json.loads(row["suggestions"])]


def test_iso_11649_creditor_references_are_checksum_validated() -> None:
    assert rf_reference_valid("RF18 5390 0754 7034")
    assert rf_reference_valid("RF18539007547034")
    assert not rf_reference_valid("RF19539007547034")
    assert not rf_reference_valid("INV-2026-000101")


def test_a_structured_reference_names_the_invoice() -> None:
    cash = apply_cash(
        pd.DataFrame(
            [
                {
                    "payment_id": "P1",
                    "value_date": "2026-03-01",
                    "currency": "EUR",
                    "unapplied_minor": 8000,
                    "reference": "",
                    "creditor_reference": _rf("INV2026000104"),
                }
            ]
        ),
        INVOICES,
        as_of=AS_OF,
        rule_version="t",
        policy=default_policy(),
        payers=payers(),
    )
    assert applied(cash) == [("P1", "INV-2026-000104", 8000, "structured_reference")]


def test_a_creditor_reference_written_in_the_remittance_text_names_the_invoice() -> None:
    # 250.00 fits two invoices by amount; the RF reference in the text decides.
    rf = _rf("INV2026000103")
    grouped = " ".join(rf[i : i + 4] for i in range(0, len(rf), 4))
    cash = run(f"""
        | payment_id | value_date | currency | unapplied_minor | reference                            |
        | P1         | 2026-03-01 | EUR      | 250_00          | Rechnung {grouped}, Kd ACME Ref 4711 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000103", 250_00, "structured_reference")]


def test_a_creditor_reference_is_read_from_the_text_in_any_spelling() -> None:
    from tasks.reconcile.named import rf_in_text

    rf = _rf("INV2026000103")
    grouped = " ".join(rf[i : i + 4] for i in range(0, len(rf), 4))
    texts = [f"Zahlung {rf} danke", f"{grouped} 4711", f"payment {rf.lower()}", f"ref: {rf[:2]} {rf[2:]}."]
    assert rf_in_text(pd.Series(texts)).tolist() == ["INV2026000103"] * 4


def test_a_mistyped_creditor_reference_in_the_text_names_nothing_by_itself() -> None:
    from tasks.reconcile.named import rf_in_text

    good = _rf("INV2026000103")
    bad = good[:2] + f"{(int(good[2:4]) + 1) % 100:02d}" + good[4:]
    found = rf_in_text(pd.Series([f"pay {good}", f"pay {bad}", "RF 12 apples", "no reference", None]))
    assert found.tolist() == ["INV2026000103", "", "", "", ""]


def _rf(payload: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in payload + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{payload}"


def test_ocr_confusions_in_an_invoice_number_are_repaired() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference            |
        | P1         | 2026-03-01 | EUR      | 100_00          | INV 2O26 OOO1O1 paid |
    """)
    assert applied(cash) == [("P1", "INV-2026-000101", 100_00, "invoice_number")]


def test_the_payer_account_and_an_exact_amount_find_the_invoice() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | EUR      | 80_00           | ACH       | DE89370400440532013000 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000104", 80_00, "exact_amount")]


def test_trap_two_invoices_with_the_same_amount_go_to_the_exception_queue() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | EUR      | 250_00          |           | DE89370400440532013000 |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason == "2 open invoices of ACME have exactly this amount"
    assert suggestions == ["INV-2026-000102", "INV-2026-000103"]


def test_trap_a_reference_to_another_customers_invoice_is_not_applied() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 300_00          | INV-2026-000201 | DE89370400440532013000 |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason.startswith("invoice_number scored 0.50") and suggestions == ["INV-2026-000201"]


def test_trap_a_paid_invoice_referenced_again_takes_nothing() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 300_00          | INV-2026-000202 | GB29NWBK60161331926819 |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason.startswith("names invoice(s) already paid: INV-2026-000202")
    # the payer's open INV-2026-000201, one digit away, is exactly the amount: suggested first
    assert suggestions == ["INV-2026-000201"]
    assert reason.endswith("the amount fits INV-2026-000201 of GLOBEX, whose number is a typo away")


def test_trap_a_paid_invoice_referenced_again_by_an_amount_fitting_nothing_takes_nothing() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 123_00          | INV-2026-000202 | GB29NWBK60161331926819 |
        | P2         | 2026-03-01 | EUR      | 123_00          | INV-2026-000202 |                        |
    """)
    assert applied(cash) == []
    # GLOBEX's open 201, a keystroke away from the number given, is what a person looks at first
    # (123.00 fits it no better than anything else, so no typo is assumed); from an account not
    # known, no invoice beyond those named is looked at
    assert exception(cash, "P1") == ("names invoice(s) already paid: INV-2026-000202", ["INV-2026-000201"])
    assert exception(cash, "P2") == ("names invoice(s) already paid: INV-2026-000202", [])


def test_a_typo_naming_another_open_invoice_goes_to_the_queue_with_the_meant_one_first() -> None:
    # ACME pays 80.00, its INV-2026-000104, but types 000101 (open for 100.00): not applied to 101
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 80_00           | INV-2026-000101 | DE89370400440532013000 |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason == (
        "the reference names INV-2026-000101; the amount fits INV-2026-000104 of ACME,"
        " whose number is a typo away"
    )
    assert suggestions == ["INV-2026-000104", "INV-2026-000101"]


def test_another_customers_invoice_named_suggests_the_payers_own_invoices_a_typo_away_first() -> None:
    # ACME's account names GLOBEX's 201; none of ACME's invoices is open for 240.00, but 102 and
    # 103 (250.00) are a typo or two away and nearest the amount, then 101 (100.00)
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 240_00          | INV-2026-000201 | DE89370400440532013000 |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason.endswith("belong to another customer; INV-2026-000102 of ACME is a typo away")
    assert suggestions == ["INV-2026-000102", "INV-2026-000103", "INV-2026-000101"]


def test_a_part_payment_of_the_invoice_named_is_applied_when_no_invoice_a_typo_away_fits() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       | payer_account          |
        | P1         | 2026-03-01 | EUR      | 60_00           | INV-2026-000101 | DE89370400440532013000 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000101", 60_00, "invoice_number")]


def test_a_unique_combination_of_open_invoices_is_applied() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_name |
        | P1         | 2026-03-01 | EUR      | 180_00          | Zahlung   | ACME GMBH. |
    """)
    assert sorted(applied(cash)) == [
        ("P1", "INV-2026-000101", 100_00, "amount_combination"),
        ("P1", "INV-2026-000104", 80_00, "amount_combination"),
    ]


def test_more_than_everything_open_pays_everything_and_leaves_the_rest() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | EUR      | 310_00          |           | GB29NWBK60161331926819 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000201", 300_00, "overpayment")]
    assert cash.unapplied.set_index("payment_id").loc["P1", "unapplied_minor"] == 10_00


def test_an_unknown_payer_is_never_applied_by_amount_alone() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_name    |
        | P1         | 2026-03-01 | EUR      | 300_00          |           | Somebody Else |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert reason.startswith("unknown payer") and suggestions == ["INV-2026-000201"]


NAMESAKES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor |
    | INV-2026-000301 | MUELLER1    | EUR      | 2026-01-10 | 120_00     |
    | INV-2026-000302 | MUELLER2    | EUR      | 2026-01-12 | 340_00     |
    | INV-2026-000303 | MUELLER2    | EUR      | 2026-01-14 | 120_00     |
    | INV-2026-000304 | ORION       | EUR      | 2026-01-16 | 500_00     |
""")


def namesakes_run(payments: str) -> CashApplication:
    """Two customers of one name (one with a second site), and a third of its own."""
    directory = PayerDirectory(
        {}, {"MUELLER1": "Mueller GmbH", "MUELLER2": "Mueller AG", "ORION": "Orion Foods SARL"}, 90
    )
    return apply_cash(
        table(payments), NAMESAKES, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=directory
    )


def test_a_name_fitting_several_customers_pays_the_one_invoice_of_theirs_open_for_the_amount() -> None:
    cash = namesakes_run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_name |
        | P1         | 2026-03-01 | EUR      | 340_00          |           | MUELLER    |
    """)
    assert applied(cash) == [("P1", "INV-2026-000302", 340_00, "exact_amount")]
    evidence = json.loads(cash.allocations["evidence"].iloc[0])
    assert evidence["payer"] == (
        "payer name fits MUELLER2 and MUELLER1; only MUELLER2 has an open invoice of exactly this amount"
    )
    assert cash.allocations["score"].iloc[0] == round(default_policy().scores.exact_amount, 4)


def test_a_name_fitting_several_customers_decides_nothing_when_the_amount_fits_two_of_theirs() -> None:
    # 120.00 is open on an invoice of each Mueller: the name cannot tell which, so a person decides
    cash = namesakes_run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_name  |
        | P1         | 2026-03-01 | EUR      | 120_00          |           | Mueller     |
        | P2         | 2026-03-01 | EUR      | 500_00          |           | Mueller     |
    """)
    assert applied(cash) == []
    reason, suggestions = exception(cash, "P1")
    assert "fits several customers" in reason and suggestions == ["INV-2026-000301", "INV-2026-000303"]
    # nor is another customer's invoice of the amount taken: ORION's name is not the payer's
    reason, suggestions = exception(cash, "P2")
    assert reason.startswith("unknown payer") and suggestions == ["INV-2026-000304"]


def test_a_short_payment_within_tolerance_of_one_invoice_only() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | EUR      | 299_00          |           | GB29NWBK60161331926819 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000201", 299_00, "amount_within_tolerance")]


def test_payer_names_are_compared_without_legal_form() -> None:
    assert normalise_name("ACME GmbH.") == "acme"
    assert payers().identify(None, "Globex Corp")[0] == "GLOBEX"
    assert payers().identify(None, "Initech")[0] is None


def test_combination_search_reports_ambiguity_and_respects_its_bounds() -> None:
    found, complete = combinations_summing_to([100, 250, 250, 80], 350, max_items=3, max_steps=10_000)
    assert complete and len(found) == 2  # 100 + either 250
    found, _ = combinations_summing_to([100, 250, 80], 430, max_items=2, max_steps=10_000)
    assert found == []  # needs three


def test_among_many_customers_a_payer_name_is_found_as_by_comparing_every_name() -> None:
    """Above 2,000 customers only the names sharing rare trigrams are compared in full: the answer
    must be the one comparing every name gives, for exact names, typos and names fitting several."""
    rng = random.Random(3)
    words = ["nord", "sud", "acme", "alpen", "rhein", "delta", "orion", "vega", "atlas", "kappa"]
    trades = ["logistik", "metall", "foods", "textil", "chemie", "software", "bau", "energie"]
    names = {f"C{k:05d}": f"{rng.choice(words)} {rng.choice(trades)} {k} GmbH" for k in range(6_000)}
    big = PayerDirectory({}, names, 90)
    queries = [names[f"C{k:05d}"] for k in rng.sample(range(6_000), 40)]
    queries += [q.replace("a", "e", 1) for q in queries[:20]]  # typos
    queries += ["acme logistik GmbH", "unknown name entirely", "rhein chemie 123"]
    every = PayerDirectory({}, names, 90)
    every._grams = None  # compare with every name
    for query in queries:
        assert big.identify("", query) == every.identify("", query), query
    assert big.identify("", names["C01234"])[0] == "C01234"


def test_a_list_shortened_to_sequence_numbers_names_each_invoice_of_the_first_ones_customer() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference                 |
        | P1         | 2026-03-01 | EUR      | 180_00          | Rechnungen INV-2026-000101/104 |
        | P2         | 2026-03-01 | EUR      | 500_00          | INV-2026-000102 und 103   |
    """)
    assert sorted(applied(cash)) == [
        ("P1", "INV-2026-000101", 100_00, "invoice_number"),
        ("P1", "INV-2026-000104", 80_00, "invoice_number"),
        ("P2", "INV-2026-000102", 250_00, "invoice_number"),
        ("P2", "INV-2026-000103", 250_00, "invoice_number"),
    ]


def test_a_number_after_an_invoice_number_names_nothing_of_another_customer() -> None:
    # 201 is GLOBEX's (300.00): "INV-2026-000101, 201" names ACME's 101 only, though 400.00 is
    # what both would come to; the rest waits in the queue
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference            |
        | P1         | 2026-03-01 | EUR      | 400_00          | INV-2026-000101, 201 |
    """)
    assert applied(cash) == [("P1", "INV-2026-000101", 100_00, "invoice_number")]
    assert exception(cash, "P1")[0].startswith("300.00 EUR left over after paying INV-2026-000101")


def test_an_advance_from_a_known_customer_is_held_on_its_account_not_queued() -> None:
    # GLOBEX pays in GBP and has no open GBP invoice: the cash is held for it
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | GBP      | 500_00          | advance   | GB29NWBK60161331926819 |
    """)
    assert applied(cash) == [] and len(cash.exceptions) == 0
    held = cash.on_account[["payment_id", "customer_id", "currency", "unapplied_minor", "reason"]]
    assert held.values.tolist() == [
        ["P1", "GLOBEX", "GBP", 500_00, "no open GBP invoice of GLOBEX: held on its account"]
    ]
    # the policy may send it to a person instead
    policy = default_policy().model_copy(
        update={"on_account": default_policy().on_account.model_copy(update={"hold": False})}
    )
    queued = apply_cash(
        table("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
        | P1         | 2026-03-01 | GBP      | 500_00          | advance   | GB29NWBK60161331926819 |
    """),
        INVOICES,
        as_of=AS_OF,
        rule_version="t",
        policy=policy,
        payers=payers(),
    )
    assert exception(queued, "P1")[0] == "no open invoice of GLOBEX fits" and len(queued.on_account) == 0


def test_cash_held_on_account_pays_the_customers_invoices_as_they_come() -> None:
    # 150.00 fits no ACME invoice; held in an earlier run, it pays the oldest due first
    payments = """
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          | held_for |
        | P1         | 2026-03-01 | EUR      | 150_00          | advance   | DE89370400440532013000 | {held}   |
    """
    cash = run(payments.format(held="ACME    "))
    assert applied(cash) == [
        ("P1", "INV-2026-000101", 100_00, "on_account"),
        ("P1", "INV-2026-000102", 50_00, "on_account"),
    ]
    # never held: the same payment waits for a person
    assert exception(run(payments.format(held="        ")), "P1")[0] == "no open invoice of ACME fits"

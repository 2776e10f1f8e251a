"""Two runs that write the ledger at the same moment wait for each other instead of failing."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from flows.reconcile import reconcile_flow
from tasks.platform.config import PROJECT_ROOT, load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
INVOICES = "X-1,K1,2026-10-01,2026-10-31,EUR,100.00,\nX-2,K1,2026-10-02,2026-11-01,EUR,50.00,\n"
PAYMENTS = "Q-1,2026-11-10,120.00,EUR,Acme,,X-1 X-2\n"


def applied_total(home: Path) -> int:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return int(ledger.table("allocations")["amount_minor"].sum())


def test_two_reconcile_runs_at_once_apply_the_cash_once(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(reconcile_flow, as_of=AS_OF, home=str(home)) for _ in range(2)]
        results = [run.result(timeout=300) for run in runs]
    assert sorted(r["counts"]["allocations"] for r in results) == [0, 2]
    assert applied_total(home) == 12000


def test_a_run_waits_while_another_process_holds_the_ledger(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from tasks.platform.ledger import hold_ledger\n"
            "with hold_ledger(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(4)\n",
            str(load_settings(home).ledger_path),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    result = reconcile_flow(as_of=AS_OF, home=str(home))
    waited = time.monotonic() - started
    assert holder.wait(timeout=60) == 0
    assert result["outcome"] == "completed" and result["counts"]["allocations"] == 2
    assert waited >= 2.5  # it waited for the other process instead of failing on DuckDB's file lock

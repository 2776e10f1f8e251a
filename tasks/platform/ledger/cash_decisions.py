"""A person's decisions as the ledger writes them (the rules are in tasks/platform/cash_decisions.py):
a decision's statements with their audit rows, a cash allocation applied by hand with what it
teaches the ledger, and an allocation taken back. Each lands in one transaction, or, when a guard
finds that someone decided first, not at all.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.platform.ledger.reads import Reads
from tasks.platform.ledger.tables import load_sql, now


class CashDecisions(Reads):
    """Writing a person's decisions."""

    def decide(
        self,
        steps: list[tuple[str, dict[str, Any]]],
        audits: list[dict[str, Any]],
        *,
        guard: str | None = None,
    ) -> bool:
        """Write a person's decision in one transaction: the named statements in order, then their
        audit rows (run_id, stage, entity, key, action, before, after). When `guard` names a step
        that changes no row (someone decided first), nothing is written and the result is False."""
        self.con.begin()
        try:
            for name, params in steps:
                changed = self.con.execute(load_sql(name), params).fetchone()
                if name == guard and not (changed and changed[0]):
                    self.con.rollback()
                    return False
            for row in audits:
                self.con.execute(
                    "insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        row["run_id"],
                        row["stage"],
                        row["entity"],
                        row["key"],
                        row["action"],
                        row["before"],
                        row["after"],
                        now(),
                    ],
                )
            self._commit("a person's decision")
        except BaseException:
            self.con.rollback()
            raise
        return True

    def record_manual_allocation(
        self, allocation: dict[str, Any], *, payer_account: str | None, customer_id: str
    ) -> bool:
        """Write a person's allocation in one transaction: the row, its audit row, the payment taken
        off the exception queue once none of its cash is left unapplied, and its payer account learned
        for the invoice's customer (`payer_account` already normalised; None learns nothing).

        `allocation` holds the parameters of `reconcile/manual_insert_allocation`, whose guard repeats
        the decision's checks; when it refuses the row, nothing is written and the result is False.
        """
        self.con.begin()
        try:
            inserted = self.con.execute(load_sql("reconcile/manual_insert_allocation"), allocation).fetchone()
            if not inserted or not inserted[0]:
                self.con.rollback()
                return False
            self.con.execute(
                load_sql("reconcile/manual_audit"),
                {
                    "run_id": allocation["run_id"],
                    "action": "insert",
                    "decided_json": None,
                    "allocation_id": allocation["allocation_id"],
                    "created_at": now(),
                },
            )
            self.con.execute(
                load_sql("reconcile/manual_clear_exception"), {"payment_id": allocation["payment_id"]}
            )
            self.con.execute(
                load_sql("reconcile/manual_accept_match"),
                {"payment_id": allocation["payment_id"], "invoice_id": allocation["invoice_id"]},
            )
            if payer_account:
                self.con.execute(
                    load_sql("reconcile/manual_learn_payer"),
                    {"account": payer_account, "customer_id": customer_id, "run_id": allocation["run_id"]},
                )
            self._commit("a manual allocation")
        except BaseException:
            self.con.rollback()
            raise
        return True

    def remove_manual_allocation(self, allocation_id: str, *, by: str, run_id: str) -> dict[str, Any] | None:
        """Remove one allocation in one transaction with its audit row (before: the row; after: who
        decided). Returns the removed row, or None (nothing written) when no allocation has that id."""
        self.con.begin()
        try:
            removed = self.row(
                "reconcile/manual_allocation", allocation_id=allocation_id, payment_id=None, invoice_id=None
            )
            if removed is None or removed["allocation_id"] != allocation_id:
                self.con.rollback()
                return None
            self.con.execute(
                load_sql("reconcile/manual_audit"),
                {
                    "run_id": run_id,
                    "action": "delete",
                    "decided_json": json.dumps({"decided_by": by}),
                    "allocation_id": allocation_id,
                    "created_at": now(),
                },
            )
            self.con.execute(
                load_sql("reconcile/manual_reject_match"),
                {"allocation_id": allocation_id, "decided_by": by, "run_id": run_id},
            )
            self.con.execute(load_sql("reconcile/manual_delete_allocation"), {"allocation_id": allocation_id})
            self._commit("an unapplied allocation")
        except BaseException:
            self.con.rollback()
            raise
        return removed

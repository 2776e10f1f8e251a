"""The outbox's delivery states as the ledger keeps them (tasks/platform/outbox.py delivers,
tasks/platform/outbox_decisions.py holds a person's decisions on a message).

`move_messages` moves a batch of messages of one outbox table in one transaction, set-based, each
only from the state it must still be in, with one audit row per message; `set_message_statuses`
and `set_reminder_status` are the older message-by-message moves, audited the same way.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from tasks.platform.ledger.base import LedgerBase
from tasks.platform.ledger.tables import OUTBOX_TABLES, load_sql
from tasks.platform.ledger.tables import now as wall_clock


class DeliveryStates(LedgerBase):
    """Moving outbox messages between delivery states."""

    def _only_rows(self, table: str, key: str, ids: list[str]) -> None:
        """Say that this transaction changes no row of `table` but the messages `ids` (a PostgreSQL
        ledger's working copy then compares only those rows when it writes the change back)."""
        only = getattr(self.con, "only_rows", None)
        if only is not None:
            only(table, key, ids)

    def set_reminder_status(
        self, reminder_id: str, status: str, reason: str | None, ref: str | None, run_id: str
    ) -> None:
        """Move one reminder to a new delivery state, audited."""
        self.set_message_statuses("reminders", [(reminder_id, status, reason, ref)], run_id)

    def set_message_statuses(
        self, table: str, changes: list[tuple[str, str, str | None, str | None]], run_id: str
    ) -> None:
        """Move outbox messages (`reminders` or `invoice_mails`) to new delivery states, audited, in
        one transaction. changes: (message id, status, reason, delivered reference) per message."""
        if not changes:
            return
        key, stage = OUTBOX_TABLES[table]
        self.con.begin()
        self._only_rows(table, key, [c[0] for c in changes])
        try:
            for message_id, status, reason, ref in changes:
                before = self.con.execute(
                    f"select status from {table} where {key} = ?", [message_id]
                ).fetchone()
                self.con.execute(
                    f"update {table} set status = $status, status_reason = $reason,"
                    " delivered_ref = coalesce($ref, delivered_ref),"
                    " sent_at = case when $status = 'sent' then $now else sent_at end,"
                    " attempts = coalesce(attempts, 0) + case when $status = 'sending' then 1 else 0 end"
                    f" where {key} = $message_id",
                    {
                        "message_id": message_id,
                        "status": status,
                        "reason": reason,
                        "ref": ref,
                        "now": wall_clock(),
                    },
                )
                self.con.execute(
                    "insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)"
                    " values (?, ?, ?, ?, 'status', ?, ?, ?)",
                    [
                        run_id,
                        stage,
                        table,
                        message_id,
                        json.dumps({"status": before[0] if before else None}),
                        json.dumps({"status": status, "reason": reason}),
                        wall_clock(),
                    ],
                )
            self._commit(f"{table}: delivery states", merge=True)
        except BaseException:
            self.con.rollback()
            raise

    def move_messages(
        self,
        table: str,
        moves: list[dict[str, Any]],
        *,
        run_id: str,
        now: datetime,
        stage: str | None = None,
        decided_by: str | None = None,
    ) -> int:
        """Move messages of one outbox table to new delivery states in one transaction, set-based:
        one audit row per message (status before and after, the reason, the next attempt, who
        decided), then one update (`outbox/audit_moves`, `outbox/move`).

        Each move names `message_id`, the state it must still be in (`expected`), and its new
        `status`, `reason`, `ref` (the provider's reference; None keeps it), `next_attempt_at`,
        `transient_failures` (None keeps it) and `failure`. A message no longer in its expected state
        is left as it is. `stage` defaults to the stage that sends the table. Returns how many
        messages moved."""
        if not moves:
            return 0
        key, sender = OUTBOX_TABLES[table]  # the fixed list: table and key are never input

        def sql(name: str) -> str:
            return load_sql(name).replace("{table}", table).replace("{key}", key)

        self.con.register("outbox_moves", _moves_frame(moves))
        self.con.begin()
        self._only_rows(table, key, [m["message_id"] for m in moves])
        try:
            audit = {"run_id": run_id, "stage": stage or sender, "entity": table, "decided_by": decided_by}
            # the audit log keeps the real time, whatever clock a run is given
            self.con.execute(sql("platform/outbox/audit_moves"), {**audit, "created_at": wall_clock()})
            moved = self.con.execute(sql("platform/outbox/move"), {"now": now}).fetchone()
            self._commit(f"{table}: delivery states", merge=True)
        except BaseException:
            self.con.rollback()
            raise
        finally:
            self.con.unregister("outbox_moves")
        return int(moved[0]) if moved else 0

    def record_mail_events(self, rows: list[dict[str, Any]]) -> int:
        """Keep what the mail provider said of the messages (`tasks/platform/mail_events.py`), in
        one transaction; an event already kept (the same event id, sent again) is not kept twice.
        How many were new."""
        if not rows:
            return 0
        columns = ["event_id", "kind", "message_ref", "customer_id", "email", "event", "reason"]
        frame = pd.DataFrame(rows).drop_duplicates("event_id")
        self.con.begin()
        try:
            self.con.register("o2c_events", frame)
            new = self.con.execute(
                "select count(*) from o2c_events where event_id not in (select event_id from mail_events)"
            ).fetchone()
            self.con.execute(
                f"insert into mail_events ({', '.join(columns)}, occurred_at, received_at)"
                f" select {', '.join(columns)}, occurred_at::timestamp, received_at::timestamp from o2c_events"
                " where event_id not in (select event_id from mail_events)"
            )
            self.con.unregister("o2c_events")
            self._commit("mail events", merge=True)
        except BaseException:
            self.con.rollback()
            raise
        return int(new[0]) if new else 0


def _moves_frame(moves: list[dict[str, Any]]) -> pd.DataFrame:
    """The moves as the frame `outbox/audit_moves` and `outbox/move` read (`outbox_moves`), one row
    per message, with the column types DuckDB needs even where every value is missing."""

    def column(name: str, dtype: str) -> pd.Series:
        return pd.Series([m.get(name) for m in moves], dtype=dtype)

    return pd.DataFrame(
        {
            "message_id": pd.Series([m["message_id"] for m in moves], dtype="object"),
            "expected": pd.Series([m["expected"] for m in moves], dtype="object"),
            "status": pd.Series([m["status"] for m in moves], dtype="object"),
            "reason": column("reason", "object"),
            "ref": column("ref", "object"),
            "next_attempt_at": column("next_attempt_at", "datetime64[us]"),
            "transient_failures": column("transient_failures", "Int64"),
            "failure": column("failure", "object"),
        }
    )

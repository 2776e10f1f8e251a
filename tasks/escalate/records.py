"""What the escalate stage records, as ledger rows: the credit holds it places (each with its id),
the notices to account owners (rendered, queued in the owner-notice outbox) and the write-off
proposals it makes.

Pure: the decisions of `tasks/escalate/decide.py` in, rows out; the date, the run and the moment of
recording come from the caller.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.messages import render_owner_notice

NOTICE_COLUMNS = [
    "mail_id",
    "customer_id",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "as_of",
    "status",
]


def hold_rows(holds: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The holds to place (customer_id, currency, reason) as `credit_holds` rows, one id per
    customer, currency and day."""
    return holds.assign(
        hold_id=[
            f"HOLD-{c}-{k}-{as_of.isoformat()}"
            for c, k in zip(holds["customer_id"], holds["currency"], strict=True)
        ],
        status="active",
        placed_on=as_of,
        placed_by="escalate stage",
        placed_reason=holds["reason"],
    )


def owner_notices(
    notices: pd.DataFrame, as_of: date, seller: str, templates: Path = SHIPPED_TEMPLATES
) -> pd.DataFrame:
    """Each notice to an account owner rendered as an outbox row; a customer without an owner
    gets none."""
    rows = []
    for row in notices.to_dict("records"):
        owner = row.get("account_owner")
        if not isinstance(owner, str) or not owner.strip():
            continue
        message = render_owner_notice(row, as_of=as_of, seller=seller, folder=templates)
        rows.append(
            {
                "mail_id": f"OWN-{row['customer_id']}-{row['currency']}-{row['state']}-{as_of.isoformat()}",
                "customer_id": row["customer_id"],
                "recipient": owner.strip(),
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "as_of": as_of,
                "status": "queued",
            }
        )
    return pd.DataFrame(rows, columns=NOTICE_COLUMNS)


def proposal_updates(
    write_offs: pd.DataFrame, now: datetime, run_id: str
) -> list[tuple[str, pd.DataFrame, dict[str, Any]]]:
    """The ledger statement that records the write-offs the policy proposes, over all of them."""
    columns = ["invoice_id", "customer_id", "currency", "amount_minor", "reason"]
    return [("escalate/propose_write_offs", write_offs[columns], {"now": now, "run_id": run_id})]

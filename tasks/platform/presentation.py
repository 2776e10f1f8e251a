"""How ledger values are shown: frames as records, dates and moments as ISO text."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def day_text(value: Any) -> str | None:
    """A date cell as YYYY-MM-DD, or None where there is none."""
    return None if value is None or pd.isna(value) else str(value)[:10]


def moment_text(value: Any) -> str | None:
    """A timestamp cell as YYYY-MM-DDTHH:MM:SS, or None where there is none."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat(timespec="seconds")

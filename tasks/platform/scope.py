"""What a stage run is limited to: one legal entity's customers, a list of customers (a pilot), or
a segment of the customer master. No scope: every customer, as always.

A scoped run reads and decides as an unscoped one would, and writes only what concerns the scope's
customers: their bills, the cash applied to their invoices, their reminders and escalations, and
the rows of the derived tables (exception queue, cash on account, reminder exclusions, worklist)
that are theirs; every other customer's rows are left exactly as they were. A scope that names
nothing (an entity, a segment or customer ids the customer master does not know) is refused with
one line, before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform.problems import InputRejected


class ScopeProblem(InputRejected):
    """A scope that names no customer the ledger knows."""


@dataclass(frozen=True)
class Scope:
    """The customers a run is limited to, and how they were chosen (`label`, in words)."""

    label: str
    customers: frozenset[str]
    entity: str | None = None

    def holds(self, values: Iterable[Any]) -> list[bool]:
        return [str(v) in self.customers for v in values]

    def of(self, frame: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
        """The rows of a frame whose `column` is one of the scope's customers."""
        return frame[frame[column].astype(str).isin(self.customers)].reset_index(drop=True)

    def of_arrow(self, table: pa.Table, column: str = "customer_id") -> pa.Table:
        """The rows of an Arrow table whose `column` is one of the scope's customers."""
        wanted = pa.array(sorted(self.customers), pa.string())
        return table.filter(pc.is_in(pc.cast(table.column(column), pa.string()), value_set=wanted))

    def rows(self, table: Any, column: str = "customer_id") -> Any:
        """The scope's rows of a pandas frame or an Arrow table, as the same kind."""
        return self.of_arrow(table, column) if isinstance(table, pa.Table) else self.of(table, column)

    def summary(self) -> dict[str, Any]:
        """What a run's summary says of its scope."""
        return {"scope": self.label, "customers_in_scope": len(self.customers)}


def resolve(
    customers: pd.DataFrame,
    *,
    entity: str | None = None,
    ids: list[str] | None = None,
    segment: str | None = None,
) -> Scope | None:
    """The scope asked for, over the customer master (customer_id, entity, segment); None when
    nothing is asked. At most one of entity, ids and segment."""
    asked = [name for name, value in (("entity", entity), ("customers", ids), ("segment", segment)) if value]
    if not asked:
        return None
    if len(asked) > 1:
        raise ScopeProblem(
            f"a run is limited by one of entity, customers and segment, not {' and '.join(asked)}"
        )
    if entity:
        chosen = customers[customers["entity"] == entity]
        if not len(chosen):
            known = ", ".join(sorted(set(customers["entity"]))) or "none"
            raise ScopeProblem(
                f"no customer belongs to legal entity {entity!r} (the customer master's: {known})"
            )
        return Scope(f"legal entity {entity}", frozenset(chosen["customer_id"].astype(str)), entity=entity)
    if segment:
        chosen = customers[customers["segment"] == segment]
        if not len(chosen):
            known = ", ".join(sorted(s for s in set(customers["segment"]) if s)) or "none"
            raise ScopeProblem(f"no customer is in segment {segment!r} (the customer master's: {known})")
        return Scope(f"segment {segment}", frozenset(chosen["customer_id"].astype(str)))
    wanted = [str(i).strip() for i in ids or [] if str(i).strip()]
    unknown = sorted(set(wanted) - set(customers["customer_id"].astype(str)))
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ScopeProblem(f"{len(unknown)} customer(s) the customer master does not know: {shown}")
    return Scope(f"{len(set(wanted))} chosen customer(s)", frozenset(wanted))


def read_customer_ids(path: Path) -> list[str]:
    """The customer ids of a pilot's file: one per line, or a CSV whose header has `customer_id`
    (blank lines and lines starting with `#` skipped). A problem names the file and row."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScopeProblem(f"{path.name}: cannot be read ({exc})") from None
    rows = [
        (n, line.strip())
        for n, line in enumerate(lines, start=1)
        if line.strip() and not line.startswith("#")
    ]
    if not rows:
        raise ScopeProblem(f"{path.name}: no customer ids")
    header = [cell.strip().lower() for cell in rows[0][1].split(",")]
    if "customer_id" in header:
        at = header.index("customer_id")
        out = []
        for n, line in rows[1:]:
            cells = line.split(",")
            value = cells[at].strip() if at < len(cells) else ""
            if not value:
                raise ScopeProblem(f"{path.name}, row {n}, column customer_id: empty")
            out.append(value)
        return out
    for n, line in rows:
        if "," in line:
            raise ScopeProblem(
                f"{path.name}, row {n}: {line!r} is not one customer id (give one per line, or a CSV with a"
                " customer_id column)"
            )
    return [line for _, line in rows]


def replacing(
    scope: Scope | None, frames: dict[str, Any], column: str = "customer_id"
) -> tuple[dict[str, Any], dict[str, tuple[Any, dict[str, Any]]]]:
    """(replacements, scoped_replacements) of a publication for derived tables a run recomputes
    whole: the whole table without a scope; with one, only the rows of the scope's customers."""
    if scope is None:
        return frames, {}
    return {}, {table: (rows, {column: sorted(scope.customers)}) for table, rows in frames.items()}

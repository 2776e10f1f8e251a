"""A bank statement file as an ingest source: its credits as canonical payment rows.

A statement that fails its integrity checks has all its payments quarantined with the reason, unless
`rules/statements.yaml` says to report only; either way the problems are reported with the batch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rules.statements import StatementPolicy
from tasks.ingest.bank.model import StatementRejected
from tasks.ingest.bank.statements import integrity_problems, payments_rows, read_statements
from tasks.ingest.model import RawSource, SourceRejected
from tasks.platform.config import SHIPPED_RULES
from tasks.platform.policy import load_policy


def read_statement_source(path: Path, rules_dir: Path = SHIPPED_RULES) -> RawSource:
    """Read a camt, MT940/MT942 or BAI2 file as a payments source, under `rules_dir`'s
    `statements.yaml` (a run passes its Settings' rules folder)."""
    policy, _version = load_policy("statements", StatementPolicy, rules_dir=rules_dir)
    try:
        statements = read_statements(path)
    except StatementRejected as exc:
        raise SourceRejected(str(exc)) from None
    rows, owners = payments_rows(statements, str(path))
    problems = integrity_problems(statements)
    notes = [
        f"statement {statements[p].statement_id or p + 1}: {problem}"
        for p, found in sorted(problems.items())
        for problem in found
    ]
    row_problems: dict[int, list[str]] = {}
    if policy.on_integrity_failure == "quarantine":
        for row, owner in enumerate(owners):
            if owner in problems:
                label = statements[owner].statement_id or owner + 1
                row_problems[row] = [f"statement {label}: {problem}" for problem in problems[owner]]
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()
    return RawSource(
        "payments",
        str(path),
        fingerprint,
        rows,
        1,
        None,
        row_problems=row_problems,
        notes=notes,
        quarantine_ceiling=1.0,  # a failed statement is quarantined whole; the rest of the file goes on
    )

"""Ingest flow: files and SQL sources into the ledger, each checked against its contract."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr, WithJsonSchema

from flows.hooks import o2c_flow
from tasks.ingest.canonical import batch_record, ledger_facts_needed, prepare_batch
from tasks.ingest.model import IngestContext, RawSource
from tasks.ingest.sources import inbox_files, read_sources
from tasks.platform.artifacts import current_run_id
from tasks.platform.config import load_settings
from tasks.platform.contracts import load_contract
from tasks.platform.evidence import Evidence, input_evidence
from tasks.platform.ledger import Ledger, Publication, open_ledger
from tasks.platform.progress import report
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.stage import finish

# A URL as typed (the UI's form, a Python call), or one the `o2c` command wraps in a `SecretURL` so
# that Prefect stores it without its password; the form shows a text field either way.
SqlUrl = Annotated[str | SecretStr | None, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


@task(name="load source", cache_policy=NO_CACHE)
def load_source(home: str | None, raw: RawSource, as_of: date, dry_run: bool) -> dict[str, Any]:
    settings = load_settings(home)
    started = time.perf_counter()
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        batch_id = f"{raw.dataset}:{raw.fingerprint[:24]}"
        if ledger.batch_exists(batch_id):
            return {"source": raw.source, "dataset": raw.dataset, "outcome": "already ingested", "counts": {}}
        context = _what_the_ledger_knows(ledger, raw, settings.contracts_dir)
    batch = prepare_batch(raw, context)
    pub = Publication(current_run_id(), "ingest", as_of, inserts=batch.tables, quarantine=batch.quarantine)
    pub.counts = {
        "rows_read": batch.row_count,
        "rows_quarantined": len(batch.quarantine),
        "rows_checked_ok": batch.row_count - len(batch.quarantine),
    }
    for currency, total in sorted(batch.control_totals.items()):  # the file's amounts as read, exact
        pub.counts[f"{raw.dataset}_amount_minor_{currency}"] = total
    if raw.notes:
        pub.counts["statement_problems"] = len(raw.notes)
    pub.inserts["ingest_batches"] = batch_record(batch)
    if not dry_run:
        kept = Evidence()
        input_evidence(kept, raw.source, raw.dataset, raw.mapping_path)
        pub.evidence["inputs"], pub.blobs = kept.inputs, kept.blobs
    pub.updates.append(("ingest/batch_counts", {"batch_id": batch.batch_id}))
    summary = finish(settings, pub, [batch.checkpoint], dry_run=dry_run)
    what = f"{Path(raw.source).name} ({len(batch.quarantine):,} quarantined, {summary['outcome']}):"
    report("ingest", what, batch.row_count, since=started)
    return summary | {"notes": raw.notes} | {"source": raw.source, "dataset": raw.dataset}


def _what_the_ledger_knows(ledger: Ledger, raw: RawSource, contracts_dir: Path) -> IngestContext:
    """What a source's rows are checked against, read as Arrow: the customers and orders the ledger
    holds (only when the dataset refers to them or is priced by its orders) and its rows whose key
    the source repeats (found by a join in the ledger)."""
    contract = load_contract(raw.dataset, contracts_dir)
    needs = ledger_facts_needed(raw.dataset, contract)
    customers = (
        ledger.arrow("ingest/known_customers").column("customer_id") if "customers" in needs else set()
    )
    held = ledger.arrow("ingest/held_datasets").to_pydict()
    repeats = dict(zip(held["dataset"], held["held"], strict=True)).get(raw.dataset, True)
    return IngestContext(
        customers=customers,
        order_currency=ledger.arrow("ingest/known_orders") if "orders" in needs else {},
        # an empty table holds no key the source could repeat
        existing=ledger.rows_with_keys(raw.dataset, raw.rows[list(contract.key)]) if repeats else None,
        contracts_dir=contracts_dir,
    )


@o2c_flow("ingest", log_prints=True)
def ingest_flow(
    paths: list[str] | None = None,
    mapping: str | None = None,
    sql_url: SqlUrl = None,
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
) -> list[dict[str, Any]]:
    """Load files (or every file in the workspace inbox) and SQL sources into the ledger.

    Args:
        paths: Files to load (CSV, Parquet, XLSX, bank statements). Empty: every file in the inbox.
        mapping: A mapping file that says how the files' (or the SQL source's) columns are read.
        sql_url: A SQLAlchemy URL to read the mapping's table or query from.
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
        dry_run: Compute and show, write and send nothing.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
    """
    url = sql_url.get_secret_value() if isinstance(sql_url, SecretStr) else sql_url

    def sources(run: StageRun) -> list[RawSource]:
        """The named files and SQL source, else every file of the inbox, read and checked."""
        named = paths or ([] if url else [str(p) for p in inbox_files(run.settings.inbox)])
        folders = {"contracts_dir": run.settings.contracts_dir, "rules_dir": run.settings.rules_dir}
        started = time.perf_counter()
        read = read_sources(named, mapping, url, workspace=run.settings.home, **folders)
        report("ingest", f"{len(read)} source(s) read:", sum(len(raw.rows) for raw in read), since=started)
        return read

    return run_stage("ingest", _ingest, as_of=as_of, dry_run=dry_run, home=home, prepare=sources)


def _ingest(run: StageRun) -> Any:
    """Load each source in turn; stop at the first whose checkpoints halt. A source loaded is let go
    of, so that a run holds the rows of the sources still to load, not of every one."""
    results: list[dict[str, Any]] = []
    pending: list[RawSource] = run.inputs
    while pending:
        results.append(load_source(str(run.settings.home), pending.pop(0), run.as_of, run.dry_run))
        if results[-1].get("outcome") == "halted":
            return results[-1]
    return results

"""Ingest flow: files and SQL sources into the ledger, each checked against its contract."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from pydantic import SecretStr, WithJsonSchema

from flows.hooks import o2c_flow
from tasks.ingest.canonical import PreparedBatch, batch_record, ledger_facts_needed, prepare_batch
from tasks.ingest.model import IngestContext, RawSource
from tasks.ingest.pending import with_batch
from tasks.ingest.sources import inbox_files, read_sources
from tasks.platform.artifacts import current_run_id
from tasks.platform.config import Settings, load_settings
from tasks.platform.contracts import load_contract
from tasks.platform.evidence import Evidence, input_evidence
from tasks.platform.ledger import Ledger, Publication, open_ledger
from tasks.platform.progress import report
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.stage import finish

# A URL as typed (the UI's form, a Python call), or one the `o2c` command wraps in a `SecretURL` so
# that Prefect stores it without its password; the form shows a text field either way.
SqlUrl = Annotated[str | SecretStr | None, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


@task(name="check source", cache_policy=NO_CACHE)
def check_source(raw: RawSource, context: IngestContext) -> PreparedBatch:
    """Parse and check one source against what the ledger knows (pure: nothing is written)."""
    started = time.perf_counter()
    batch = prepare_batch(raw, context)
    report("ingest", f"{Path(raw.source).name} checked:", batch.row_count, since=started)
    return batch


@task(name="load source", cache_policy=NO_CACHE)
def load_source(
    home: str | None, raw: RawSource, batch: PreparedBatch, as_of: date, dry_run: bool
) -> dict[str, Any]:
    """Publish one checked source (its rows, quarantine, checkpoint and evidence) in one transaction."""
    settings = load_settings(home)
    started = time.perf_counter()
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


def _already(raw: RawSource) -> dict[str, Any]:
    return {"source": raw.source, "dataset": raw.dataset, "outcome": "already ingested", "counts": {}}


def _look_up(settings: Settings, raw: RawSource, before: list[PreparedBatch]) -> IngestContext | None:
    """What `raw` is checked against: the ledger as it stands, and the rows of the batches `before`
    it that are checked but not yet published (as they will be: the keys the ledger does not hold
    yet, the first of each). None when the ledger holds this very file already."""
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        if ledger.batch_exists(raw.batch_id):
            return None
        context = _what_the_ledger_knows(ledger, raw, settings.contracts_dir)
    for batch in before:
        context = with_batch(context, batch)
    return context


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
    """Load each source in turn; stop at the first whose checkpoints halt. While one source is
    written to the ledger (DuckDB's work, on one core), the next is checked on the other, against
    the ledger and the rows the one being written adds (`tasks/ingest/pending.py`): the same checks
    and the same rows as one after the other. A source of the same dataset as the one being written
    waits for it. A source loaded is let go of, so that a run holds the rows of the sources still
    to load, not of every one."""
    results: list[dict[str, Any]] = []
    pending: list[RawSource] = run.inputs
    settings, home = run.settings, str(run.settings.home)
    # the next source's context and its check under way, when it was started meanwhile
    ahead: tuple[IngestContext | None, PrefectFuture[PreparedBatch] | None] | None = None
    while pending:
        raw = pending.pop(0)
        context, checking = ahead if ahead is not None else (_look_up(settings, raw, []), None)
        ahead = None
        if context is None:
            results.append(_already(raw))
            continue
        batch = checking.result() if checking is not None else check_source(raw, context)
        following = pending[0] if pending else None
        if following is not None and not batch.halted and following.dataset not in batch.tables:
            # the next source's context as the ledger will stand once this batch is written
            before = [] if run.dry_run else [batch]
            after = _look_up(settings, following, before)
            ahead = (after, None if after is None else check_source.submit(following, after))
        results.append(load_source(home, raw, batch, run.as_of, run.dry_run))
        # Prefect's task runs keep the batch (in reference cycles, until Python's collector next
        # runs: at 1M, 400 MB into the next stage); its rows are not needed once written
        batch.tables.clear()
        batch.quarantine = batch.quarantine.iloc[:0]
        del batch
        if results[-1].get("outcome") == "halted":
            return results[-1]
    return results

"""The stage runner: what every stage flow does around its own read -> decide -> publish.

It owns the settings (the workspace), the business date (the one clock reading of a stage run), the
stage's policy (loaded through `tasks/platform/policy.py`, with its version and the chosen profile), the hold
on the ledger for the whole run, and the data problems, which end the run in a Failed state with one
clear line instead of a traceback. A flow hands it a function of one `StageRun`; that function reads
the ledger, decides and publishes, and returns the stage's summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from tasks.platform.config import Settings, load_settings
from tasks.platform.ledger import hold_ledger
from tasks.platform.policy import STANDARD_PROFILE, load_policy
from tasks.platform.scope import Scope
from tasks.platform.stage import conclude, data_errors, failed, resolve_as_of
from tasks.platform.stages import Stage, stage


@dataclass(frozen=True)
class StageRun:
    """What one run of a stage works with; the same for every task it calls."""

    stage: Stage
    settings: Settings
    as_of: date
    now: datetime
    """The moment the run started (to the second): the timestamp its records are stamped with."""
    dry_run: bool
    policy: Any = None
    version: str = ""
    """The policy's version (file digest and profile), recorded with every decision."""
    inputs: Any = None
    """What `prepare` read before the ledger was held (ingest: the sources, read and checked)."""
    deliver: bool = True
    """Whether the run sends what it queued (and writes the documents it billed) in its last task;
    False leaves them to the next delivery (`flows/delivery.py`), as `order_to_cash` does."""
    scope: Scope | None = None
    """The customers the run is limited to (`tasks/platform/scope.py`); None: every customer."""
    scope_asked: dict[str, Any] | None = None
    """What was asked for (entity, customers, segment), resolved against the ledger under its hold."""
    entity: str | None = None
    """The legal entity whose rows alone the run writes, when it writes no other (an entity's
    report); a run scoped to an entity alone is one too (`_entity_of`)."""

    @property
    def delivers(self) -> bool:
        """Whether this run delivers now: asked to, and not a dry run."""
        return self.deliver and not self.dry_run


def run_stage(
    name: str,
    body: Callable[[StageRun], Any],
    *,
    as_of: date | None,
    dry_run: bool,
    home: str | None,
    policy: type[BaseModel] | None = None,
    policy_profile: str | None = None,
    prepare: Callable[[StageRun], Any] | None = None,
    deliver: bool = True,
    scope: dict[str, Any] | None = None,
    entity: str | None = None,
) -> Any:
    """Run one stage: settings, date and policy first, then `body` under the ledger's hold.

    `policy` is the model of the stage's first policy file in the registry (for instance
    `MatchingPolicy` for `rules/matching.yaml`); `policy_profile` chooses a profile where the
    registry says one applies; `prepare`, when given, reads the stage's inputs before the ledger is
    held (a file refused never waits for the ledger), and `body` finds them in `run.inputs`;
    `deliver` says whether the run sends what it queued itself (`run.delivers`); `scope` (entity,
    customers or segment) limits the run to those customers (`run.scope`); `entity` says the run writes
    that legal entity's rows alone although it has no scope (on a PostgreSQL ledger both go beside
    runs of other entities: `_entity_of`). The return is the
    stage's summary, or a Failed state when a checkpoint halted it or its input or policy is wrong."""
    entry = stage(name)
    now = datetime.now().replace(microsecond=0)
    settings = load_settings(home)
    day = resolve_as_of(as_of)
    try:
        loaded, version = None, ""
        if policy is not None:
            profile = (policy_profile if entry.profiled else None) or STANDARD_PROFILE
            loaded, version = load_policy(
                entry.policies[0], policy, profile=profile, rules_dir=settings.rules_dir
            )
        run = StageRun(
            entry,
            settings,
            day,
            now,
            dry_run,
            loaded,
            version,
            deliver=deliver,
            scope_asked=scope,
            entity=entity,
        )
        if prepare is not None:
            run = replace(run, inputs=prepare(run))
        return conclude(_held(run, body))
    except data_errors() as exc:
        return failed(exc)


ATTEMPTS = 3


def _scoped(run: StageRun) -> StageRun:
    """The run with the scope it asked for resolved against the customer master (refused, with one
    line, when it names no customer the ledger knows)."""
    asked = _asked(run)
    if not asked:
        return run
    from tasks.platform.ledger import open_ledger
    from tasks.platform.progress import run_logger
    from tasks.platform.scope import resolve

    with open_ledger(run.settings.ledger_path, lock_timeout=run.settings.lock_timeout_seconds) as ledger:
        customers = ledger.query("platform/scope/customers")
    scope = resolve(
        customers, entity=asked.get("entity"), ids=asked.get("customers"), segment=asked.get("segment")
    )
    if scope is not None:
        run_logger().info(f"{run.stage.name}: limited to {scope.label} ({len(scope.customers)} customers)")
    return replace(run, scope=scope)


def _asked(run: StageRun) -> dict[str, Any]:
    """The parts of the scope the run was asked for that are given (entity, customers, segment)."""
    return {k: v for k, v in (run.scope_asked or {}).items() if v}


def _entity_of(run: StageRun) -> str | None:
    """The legal entity a run is limited to, when that is all it asks (its customers' rows alone
    are written: on a PostgreSQL ledger it goes beside runs of other entities), else None."""
    if run.entity:
        return run.entity
    asked = _asked(run)
    entity = asked.get("entity")
    return str(entity) if entity and set(asked) == {"entity"} else None


def _held(run: StageRun, body: Callable[[StageRun], Any]) -> Any:
    """`body` under the ledger's hold. With a PostgreSQL ledger a person's command (or a run of
    another machine) may write while the run computes; the run's next commit is then refused, with
    nothing written, and the run starts again on what the ledger holds now (it is idempotent: what
    an earlier attempt published stays as it is), up to `ATTEMPTS` times."""
    from tasks.platform.ledger import StoreConflict
    from tasks.platform.progress import run_logger

    settings = run.settings
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with hold_ledger(
                settings.ledger_path, lock_timeout=settings.lock_timeout_seconds, entity=_entity_of(run)
            ):
                return body(_scoped(run))
        except StoreConflict as exc:
            if attempt == ATTEMPTS:
                raise
            run_logger().warning(
                f"{run.stage.name}: {exc}; running again on what the ledger holds now"
                f" (attempt {attempt + 1} of {ATTEMPTS})"
            )
    raise AssertionError("unreachable")

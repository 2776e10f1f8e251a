"""Every case of the hostile-input corpus (`tests/hostile/manifest.yaml`), in-process.

Each case runs through what `o2c ingest` runs before it writes anything (`read_sources`, then
`prepare_batch` against an empty ledger, and the stage's `halt_message`), without Prefect: the file
is refused with one line naming it (and the row and column), or every row is quarantined, the ingest
halts and its message lists the first reasons; a halted batch holds nothing to publish. The real
`o2c` process runs a representative of each family in `tests/integration/test_hostile_inputs.py`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.hostile.corpus import (
    BUILDERS,
    CORPUS,
    FAMILIES,
    OUTCOMES,
    Case,
    assert_message,
    ingest_in_process,
    load_cases,
    stage,
)

CASES = load_cases()


def test_the_corpus_names_every_case_once_with_what_it_needs() -> None:
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(Counter(c.family for c in CASES)) == set(FAMILIES)
    for case in CASES:
        assert case.outcome in OUTCOMES, case.id
        assert case.reason.strip(), case.id
        assert case.build in BUILDERS if case.build else (CORPUS / str(case.file)).is_file(), case.id
        if case.mapping:
            assert (CORPUS / case.mapping).is_file(), case.id
        assert case.mapping_place in ("workspace", "sidecar", "outside", "argument"), case.id
    representatives = {c.family for c in CASES if c.representative}
    assert representatives == set(FAMILIES)


def test_every_committed_file_of_the_corpus_is_a_case() -> None:
    used = {c.file for c in CASES if not c.build} | {c.mapping for c in CASES if c.mapping}
    used |= {"mappings/bank.csv", "mappings/bank_good.mapping.yaml"}  # read by builders
    committed = {
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent != CORPUS and "bank" not in p.relative_to(CORPUS).parts[:1]
    }
    assert committed - used == set()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_hostile_input_is_refused_or_halts_with_its_reasons(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    args = stage(case, tmp_path / "in", home)
    monkeypatch.chdir(home)  # a relative --mapping is read from where the command runs
    result = ingest_in_process(args, home)
    assert result.outcome == case.outcome, f"{case.id}: {result.outcome}: {result.message}"
    assert_message(case, result.message)
    for batch in result.batches:
        assert batch.halted, f"{case.id}: {batch.source} would be published before the halt"
        assert batch.tables == {}, f"{case.id}: a halted batch holds rows to publish"
        assert len(batch.quarantine) == batch.row_count  # every row kept out, with its reasons

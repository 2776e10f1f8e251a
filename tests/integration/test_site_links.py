"""A team opens a run's report and Data Docs from the Prefect UI: with O2C_PUBLIC_URL naming the
workspace's site, the report flow's link artifacts point there (not at a file on the worker's disk),
the site serves those pages, and the run's Markdown artifact carries the charts' figures."""

from __future__ import annotations

import re
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from flows.report import report_flow
from tasks.platform.site import site_running, site_url
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
INVOICES = """
X-1,K1,2026-08-01,2026-08-31,EUR,700.00,
X-2,K1,2026-10-25,2026-11-24,EUR,300.00,
"""


def artifacts_of(flow_run_id: object) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    # a link artifact's data is Markdown: [text](link)
    return {str(a.key): re.sub(r"^\[[^]]*\]\((.*)\)$", r"\1", str(a.data)) for a in found}


def test_the_ui_links_open_the_pages_from_the_workspace_site(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    with site_running(home) as server:
        public = f"{site_url(server)}/acme"  # as behind a proxy: the site's root under a path
        monkeypatch.setenv("O2C_PUBLIC_URL", public)
        state = report_flow(as_of=AS_OF, home=str(home), return_state=True)
        assert state.is_completed()
        found = artifacts_of(state.state_details.flow_run_id)
        assert found["report-page"] == f"{public}/reports/report-2026-11-20.html"
        docs = str(found["report-data-docs"])
        assert docs.startswith(f"{public}/data_docs/") and docs.endswith("/report/index.html")
        for link in (found["report-page"], docs):
            served = str(link).replace("/acme/", "/", 1)  # what the proxy would forward
            with urllib.request.urlopen(served, timeout=10) as answer:  # noqa: S310 (a local test server)
                assert answer.status == 200
                page = answer.read().decode()
        assert (
            "Receivables"
            in urllib.request.urlopen(  # noqa: S310
                found["report-page"].replace("/acme/", "/", 1), timeout=10
            )
            .read()
            .decode()
        )
        assert "Data Docs" in page
    markdown = str(found["report-headline"])
    assert "## 13-week cash forecast (EUR)" in markdown
    assert "| 2026-11-21 to 2026-11-27 |" in markdown
    assert "## DSO trend (EUR)" in markdown
    assert (home / "reports" / "report-2026-11-20.md").read_text() == markdown

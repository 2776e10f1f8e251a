"""The run summaries the Prefect UI shows, in words a finance person reads: counts as tables."""

from __future__ import annotations

from tasks.platform.artifacts import pipeline_summary_markdown, stage_summary_markdown


def test_the_pipeline_summary_lists_each_stages_counts_as_a_table() -> None:
    page = pipeline_summary_markdown(
        "2026-11-20",
        ["ingest", "invoice", "reconcile", "remind"],
        {
            "ingest": [{"outcome": "completed", "counts": {"rows_loaded": 1200}}],
            "invoice": {"outcome": "completed", "counts": {"orders_billed": 25000, "emails_queued": 3}},
        },
        ("reconcile", "checkpoint allocations halted | see the quarantine"),
    )
    lines = page.splitlines()
    assert lines[:7] == [
        "# Order to cash as of 2026-11-20",
        "",
        "| stage | outcome |",
        "|---|---|",
        "| ingest | completed |",
        "| invoice | completed |",
        "| reconcile | **failed**: checkpoint allocations halted / see the quarantine |",
    ]
    assert "| remind | did not run |" in lines
    assert (
        "## invoice" in lines and "| orders billed | 25,000 |" in lines and "| emails queued | 3 |" in lines
    )
    assert "| rows loaded | 1,200 |" in lines


def test_a_stage_summary_writes_counts_in_words() -> None:
    page = stage_summary_markdown("remind", "2026-11-20", {"customers_reminded": 1234}, [])
    assert "| customers reminded | 1,234 |" in page.splitlines()


def test_a_table_shows_amounts_with_their_currency() -> None:
    import pandas as pd

    from tasks.platform.artifacts import for_people

    frame = pd.DataFrame(
        {"currency": ["EUR", "JPY"], "orders_in": [3, 4], "amount_in_minor": [123_456_78, 5000]}
    )
    assert for_people(frame).to_dict("records") == [
        {"currency": "EUR", "orders_in": 3, "amount_in": "€123,456.78"},
        {"currency": "JPY", "orders_in": 4, "amount_in": "JP¥5,000"},
    ]

"""A Prefect API that fails to record a run ends the command with one line, never a traceback."""

from __future__ import annotations

import httpx
import pytest
import typer
from prefect.exceptions import PrefectHTTPStatusError

from cli.common import EXIT_STAGE_FAILED, run_flow


def test_a_run_the_api_could_not_record_ends_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    request = httpx.Request("POST", "http://127.0.0.1:4200/api/flow_runs/")
    response = httpx.Response(503, request=request, json={"exception_message": "Service Unavailable"})

    def flow(**_params: object) -> None:
        error = httpx.HTTPStatusError("503", request=request, response=response)
        raise PrefectHTTPStatusError.from_httpx_error(error)

    with pytest.raises(typer.Exit) as ended:
        run_flow(flow, as_of=None)
    assert ended.value.exit_code == EXIT_STAGE_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "503 Service Unavailable to POST /api/flow_runs/" in err and err.startswith(
        "error: the Prefect API"
    )


def test_a_step_whose_state_the_api_lost_ends_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.exceptions import MissingResult

    def flow(**_params: object) -> None:
        raise MissingResult(
            "State data is missing. Typically, this occurs when result persistence is disabled"
        )

    with pytest.raises(typer.Exit) as ended:
        run_flow(flow, as_of=None)
    assert ended.value.exit_code == EXIT_STAGE_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: the Prefect API at ") and "run it again" in err


def test_the_terminal_shows_an_error_of_the_api_without_its_traceback() -> None:
    import logging
    import sys

    from prefect.exceptions import MissingResult

    from cli.common import _OneLineApiErrorFormatter

    formatter = _OneLineApiErrorFormatter(logging.Formatter("%(message)s"))
    for error in (MissingResult("State data is missing"), httpx.ConnectError("refused")):
        try:
            raise error
        except Exception:
            record = logging.LogRecord("prefect", logging.ERROR, "x", 1, "run failed", None, sys.exc_info())
        shown = formatter.format(record)
        assert shown == f"run failed ({type(error).__name__})"
        assert record.exc_info is not None  # the record itself keeps it, for the run's log in the API
    try:
        raise ValueError("a bug")
    except ValueError:
        record = logging.LogRecord("prefect", logging.ERROR, "x", 1, "run failed", None, sys.exc_info())
    assert "Traceback" in formatter.format(record)  # anything else keeps its traceback

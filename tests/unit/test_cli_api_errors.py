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

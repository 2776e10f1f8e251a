"""A process that imports the product once, then forks one child per `o2c` command it is asked to run.

Importing Prefect, Great Expectations and pandas costs about 5 s per process; the crash harness
runs hundreds of processes, each of which must really die at its crash point. A fork of this
process is a real process (it exits, or is killed, on its own) that starts with everything
imported. The zygote itself never starts a thread, a Prefect client or a ledger connection, so a
fork copies nothing half-held.

Protocol, one JSON object a line on stdin, one answer a line on stdout:
  {"op": "start", "args": [...], "env": {...}, "out": FILE, "err": FILE}  ->  {"pid": N}
  {"op": "wait", "pid": N, "timeout": SECONDS}  ->  {"pid": N, "code": C}  (C null: killed on timeout)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _child(request: dict) -> None:
    import atexit
    import traceback

    for name, value in request["env"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for fd, path in ((1, request["out"]), (2, request["err"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    import cli
    from tasks.platform import crash

    crash.reset()
    sys.argv = ["o2c", *request["args"]]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (a child reports everything, then exits)
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.05)


def main() -> None:
    from cli.common import set_environment_defaults

    set_environment_defaults()  # as `o2c` does before anything imports Prefect
    import great_expectations  # noqa: F401

    import cli  # noqa: F401
    import flows.order_to_cash  # noqa: F401
    import tasks.platform.checkpoint  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "start":
            pid = os.fork()
            if pid == 0:
                _child(request)
            print(json.dumps({"pid": pid}), flush=True)
        elif request["op"] == "wait":
            code = _wait(int(request["pid"]), float(request.get("timeout", 600)))
            print(json.dumps({"pid": request["pid"], "code": code}), flush=True)


if __name__ == "__main__":
    main()

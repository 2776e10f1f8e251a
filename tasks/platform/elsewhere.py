"""A pure function run in a second process, on the machine's other core, while this one goes on.

Stages are single-threaded Python where they decide and render; a piece of their work that
depends on its arguments alone, and takes long enough to pay for a process's start (reconcile's
ranking of payer names), can run beside the rest. `Elsewhere` starts a new interpreter running this module, hands it the function's
name and arguments in a file, and reads its result from another when `result` is asked for.

Not a fork: a stage runs beside Prefect's threads, and a forked child may inherit a lock one of
them held. Not `multiprocessing`'s spawn: it runs the caller's own script again in the child,
which for a script without a main guard means running it twice. A failure of the other process
(it could not start, it was killed, its result is unreadable) raises `OSError` from `result`; every
caller then does the work itself, so the answer never depends on whether it ran elsewhere.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]  # where `tasks` is imported from
_RUNNING: set[int] = set()  # the process ids of the second processes started and not yet closed


def running() -> list[int]:
    """The process ids of the second processes running now (for measuring the memory they take)."""
    return sorted(_RUNNING)


class Elsewhere:
    """`module.name(*args)` computed in a second process; `result` waits for it, `close` ends it
    (a result nobody waited for is not waited for then) and removes its files."""

    def __init__(self, module: str, name: str, *args: Any) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="o2c-elsewhere-")
        self.asked = Path(self._folder.name, "asked.pickle")
        self._answer = Path(self._folder.name, "answer.pickle")
        path = os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        try:
            self.asked.write_bytes(pickle.dumps((module, name, args), protocol=pickle.HIGHEST_PROTOCOL))
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "tasks.platform.elsewhere", str(self.asked), str(self._answer)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        except BaseException:  # it could not start (no disk for the arguments, no process): no files left
            self._folder.cleanup()
            raise
        _RUNNING.add(self._process.pid)

    def result(self) -> Any:
        """What the function returned; OSError if the other process failed or was closed."""
        if self._process is None:
            raise OSError("the other process was closed")
        if self._process.wait() != 0:
            raise OSError(f"the other process failed (exit {self._process.returncode})")
        try:
            return pickle.loads(self._answer.read_bytes())
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
            raise OSError(f"the other process's result is unreadable: {error}") from error

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process is not None:
            _RUNNING.discard(self._process.pid)
        self._process = None
        self._folder.cleanup()


def _main(asked: str, answer: str) -> None:
    """In the other process: run the function asked for, write what it returns (whole or not at all)."""
    module, name, args = pickle.loads(Path(asked).read_bytes())
    function = getattr(importlib.import_module(module), name)
    part = Path(answer + ".part")
    part.write_bytes(pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL))
    part.replace(answer)


if __name__ == "__main__":  # python -m tasks.platform.elsewhere ASKED ANSWER
    _main(sys.argv[1], sys.argv[2])

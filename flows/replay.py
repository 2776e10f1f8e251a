"""The process a replay runs its steps in (`o2c audit replay`): the stages of one set of rule and
contract files, in order, through Prefect, on the replay's workspace.

    python -m flows.replay STEPS.json RESULTS.json HOME

It is started with `O2C_RULES_DIR` and `O2C_CONTRACTS_DIR` pointing at the files as the original
runs had them, so every stage reads those, not the project's current ones.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path


def main(steps_file: str, results_file: str, home: str) -> None:
    from flows.order_to_cash import STAGE_FLOWS

    results = []
    for step in json.loads(Path(steps_file).read_text()):
        state = STAGE_FLOWS[step["stage"]](
            as_of=date.fromisoformat(step["as_of"]), home=home, **step["parameters"], return_state=True
        )
        results.append(
            {
                "original_run_id": step["original_run_id"],
                "run_id": str(state.state_details.flow_run_id),
                "state": state.name,
                "message": state.message or "",
            }
        )
    Path(results_file).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:4])

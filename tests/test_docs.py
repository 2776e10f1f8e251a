"""The README documents every command and option of the public `o2c` interface."""

from __future__ import annotations

import typer.main

from flows.cli import app
from tasks.platform.config import PROJECT_ROOT, STAGES
from tasks.report.export import EXPORTS

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_every_command_and_option_is_documented() -> None:
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert set(commands) >= {"generate", "ingest", "run", "report", "status", "export", "demo", "bench"}
    pending = [(f"o2c {name}", command) for name, command in commands.items()]
    while pending:
        path, command = pending.pop()
        assert path in README, f"{path} is not in the README"
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--") and option not in ("--help",):
                    assert option in README, f"{path} {option} is not in the README"
        pending.extend((f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items())


def test_every_stage_and_export_is_documented() -> None:
    for stage in STAGES:
        assert f"`{stage}`" in README
    for name in EXPORTS:
        assert f"`{name}`" in README

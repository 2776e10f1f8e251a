"""The documentation lives in the repository and says what the code does.

README.md is short and opens with the two commands; it links to every page of docs/, and every link
of the README and of docs/ leads to a file (and heading) that exists. docs/commands.md has one
section per `o2c` command and subcommand, headed `### o2c <command> [<sub>]`, and each section names
every option of its own command. Every stage and every export is named in docs/.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer.main

from cli import app
from tasks.platform.config import PROJECT_ROOT
from tasks.platform.stages import STAGES
from tasks.report.export import EXPORTS

README_PATH = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
README = README_PATH.read_text(encoding="utf-8")
MAX_README_LINES = 160
OTHER_READMES = ("data_contracts/README.md", "rules/README.md", "rules/templates/README.md")


def _docs_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in sorted(DOCS.glob("*.md")))


def _commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand of `o2c`, as (`o2c audit pack`, its click command)."""
    group = typer.main.get_command(app)
    found = []
    pending = [(f"o2c {name}", command) for name, command in getattr(group, "commands", {}).items()]
    while pending:
        path, command = pending.pop()
        found.append((path, command))
        pending.extend((f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items())
    return sorted(found, key=lambda pair: pair[0])


def _long_options(command: click.Command) -> list[str]:
    options = [
        o
        for param in command.params
        for o in getattr(param, "opts", []) + getattr(param, "secondary_opts", [])
    ]
    return [o for o in options if o.startswith("--") and o != "--help"]


def command_sections(text: str) -> dict[str, str]:
    """The sections of a page headed `### o2c ...`: heading (without backticks) -> the text up to
    the next heading of any level."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*$", line)
        if heading:
            title = heading.group(2).replace("`", "").strip()
            current = title if heading.group(1) == "###" and title.startswith("o2c ") else None
            if current is not None:
                sections[current] = ""
            continue
        if current is not None:
            sections[current] += line + "\n"
    return sections


def option_named(option: str, text: str) -> bool:
    """`--as-of` is named in the text, and not only as the start of a longer option (`--as-of-x`)."""
    return re.search(re.escape(option) + r"(?![\w-])", text) is not None


COMMANDS = _commands()
SECTIONS = command_sections((DOCS / "commands.md").read_text(encoding="utf-8"))


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_readme_stays_short() -> None:
    lines = len(README.splitlines())
    assert lines < MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_cli_has_the_public_commands() -> None:
    assert {path for path, _ in COMMANDS} >= {
        f"o2c {name}" for name in ("generate", "ingest", "run", "report", "status", "export", "demo", "bench")
    }


@pytest.mark.parametrize("path,command", COMMANDS, ids=[path for path, _ in COMMANDS])
def test_each_command_has_its_section_listing_its_options(path: str, command: click.Command) -> None:
    assert path in SECTIONS, f"docs/commands.md has no section headed '### {path}'"
    section = SECTIONS[path]
    missing = [option for option in _long_options(command) if not option_named(option, section)]
    assert not missing, f"the section '### {path}' of docs/commands.md does not name {', '.join(missing)}"


def test_commands_page_documents_no_command_that_does_not_exist() -> None:
    assert set(SECTIONS) <= {path for path, _ in COMMANDS}


def test_every_stage_and_export_is_documented() -> None:
    docs = _docs_text()
    for stage in STAGES:
        assert f"`{stage}`" in docs, f"stage {stage} is not named in docs/"
    assert "worklist" in EXPORTS and "allocations" in EXPORTS, EXPORTS  # the exports were found at all
    for name in EXPORTS:
        assert f"`{name}`" in docs, f"export {name} is not named in docs/"


def test_readme_links_to_every_docs_page() -> None:
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "docs/ has no pages"
    linked = {Path(target.split("#")[0]).as_posix() for target in _links(README)}
    unlinked = [p.name for p in pages if f"docs/{p.name}" not in linked]
    assert not unlinked, f"README.md does not link to {', '.join(unlinked)}"


def _links(text: str) -> list[str]:
    """The relative targets of the Markdown links of a text (not web addresses)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"^[a-z]+:", t)]


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = set()
    for title in re.findall(r"^#{1,6}\s+(.*?)\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize(
    "page",
    [README_PATH, *sorted(DOCS.glob("*.md")), *(PROJECT_ROOT / f for f in OTHER_READMES)],
    ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix(),
)
def test_every_link_leads_to_a_page_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in _links(page.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists() or anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(target)
    assert not broken, f"{page.name} links to what does not exist: {', '.join(broken)}"

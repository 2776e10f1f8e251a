"""Loading policy files: validated YAML, a clear PolicyError, and a version label with the file's hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rules.dunning import DunningPolicy
from rules.escalation import EscalationPolicy
from tasks.platform.config import RULES_DIR
from tasks.platform.policy import PolicyError, load_policy


@pytest.mark.parametrize(("name", "model"), [("dunning", DunningPolicy), ("escalation", EscalationPolicy)])
def test_the_shipped_policies_load_with_version_and_hash(name: str, model: type) -> None:
    policy, version = load_policy(name, model)
    digest = hashlib.sha256((RULES_DIR / f"{name}.yaml").read_bytes()).hexdigest()[:8]
    assert version == f"v{policy.version}-{digest}"


def test_a_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"dunning\.yaml: policy file not found"):
        load_policy("dunning", DunningPolicy, tmp_path)


def test_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "dunning.yaml").write_text("version: 1\nprofiles: [standard\n")
    with pytest.raises(PolicyError, match=r"^dunning\.yaml: not valid YAML"):
        load_policy("dunning", DunningPolicy, tmp_path)


def test_every_problem_is_named_by_its_field(tmp_path: Path) -> None:
    (tmp_path / "dunning.yaml").write_text(
        "version: one\ndefault_profile: standard\nprofiles:\n"
        "  standard:\n    levels: [{level: -1, name: n, days: 7, template: reminder}]\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy("dunning", DunningPolicy, tmp_path)
    message = str(caught.value)
    assert message.startswith("dunning.yaml: ")
    assert "version: Input should be a valid integer" in message
    assert "profiles.standard.levels.0.level: Input should be greater than or equal to 0" in message
    assert "\n" not in message


def test_an_empty_file_is_a_policy_with_nothing_in_it(tmp_path: Path) -> None:
    (tmp_path / "escalation.yaml").write_text("")
    with pytest.raises(PolicyError, match="escalation.yaml: version: Field required; states: Field required"):
        load_policy("escalation", EscalationPolicy, tmp_path)

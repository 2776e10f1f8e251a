"""Loading policy files: validated YAML, a clear PolicyError, and a version label with the file's hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rules.dunning import DunningPolicy
from rules.escalation import EscalationPolicy
from tasks.platform.config import SHIPPED_RULES
from tasks.platform.policy import PolicyError, load_policy


@pytest.mark.parametrize(("name", "model"), [("dunning", DunningPolicy), ("escalation", EscalationPolicy)])
def test_the_shipped_policies_load_with_version_and_hash(name: str, model: type) -> None:
    policy, version = load_policy(name, model)
    digest = hashlib.sha256((SHIPPED_RULES / f"{name}.yaml").read_bytes()).hexdigest()[:8]
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


def test_a_run_reads_the_rules_folder_its_settings_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is read from the environment when settings are loaded, not when a module is
    imported, and the loader, its profiles and the template check all use the folder passed in."""
    import shutil

    from tasks.platform.config import load_settings
    from tasks.platform.policy import policy_profiles

    rules = tmp_path / "rules_then"
    shutil.copytree(SHIPPED_RULES, rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (rules / "profiles" / "quiet").mkdir()
    shutil.copy(rules / "dunning.yaml", rules / "profiles" / "quiet" / "dunning.yaml")
    (rules / "templates" / "stern.en.txt").write_text("Pay now.\n")
    text = (rules / "dunning.yaml").read_text()
    courtesy = "{level: 0, name: courtesy, days: -3, before_due_only: true}"
    assert courtesy in text
    (rules / "dunning.yaml").write_text(text.replace(courtesy, courtesy[:-1] + ", template: stern}", 1))

    monkeypatch.setenv("O2C_RULES_DIR", str(rules))
    settings = load_settings(tmp_path / "home")
    assert settings.rules_dir == rules and settings.templates == rules / "templates"
    assert policy_profiles(settings.rules_dir) == ["standard", "holiday", "quiet"]
    assert "quiet" not in policy_profiles()  # the shipped folder knows no such profile
    policy, version = load_policy("dunning", DunningPolicy, rules_dir=settings.rules_dir)
    digest = hashlib.sha256((rules / "dunning.yaml").read_bytes()).hexdigest()[:8]
    assert version.endswith(digest)
    assert any(level.template == "stern" for p in policy.profiles.values() for level in p.levels)
    _, quiet = load_policy("dunning", DunningPolicy, profile="quiet", rules_dir=rules)
    assert quiet.startswith("quiet/v")
    # The shipped folder has no stern template, so the same file is refused there.
    with pytest.raises(PolicyError, match="template 'stern' has no rules/templates/stern.en.txt"):
        load_policy("dunning", DunningPolicy, rules)

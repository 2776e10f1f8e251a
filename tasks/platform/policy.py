"""Loading policy files: YAML validated by pydantic, with a version and a content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.platform.config import SHIPPED_RULES

Model = TypeVar("Model", bound=BaseModel)


class PolicyError(ValueError):
    """A policy file that does not say what the policy must say."""


STANDARD_PROFILE = "standard"


def policy_profiles(rules_dir: Path = SHIPPED_RULES) -> list[str]:
    """The policy profiles a run may use: `standard` (the files in `rules/`) and every folder of
    `rules/profiles/`, whose files replace the standard ones of the same name."""
    profiles = rules_dir / "profiles"
    found = sorted(p.name for p in profiles.iterdir() if p.is_dir()) if profiles.is_dir() else []
    return [STANDARD_PROFILE, *found]


def policy_file(name: str, profile: str = STANDARD_PROFILE, rules_dir: Path = SHIPPED_RULES) -> Path:
    """The file `rules/<name>.yaml` means under a profile: the profile's own, else the standard one."""
    known = policy_profiles(rules_dir)
    if profile not in known:
        raise PolicyError(f"unknown policy profile {profile!r}; one of {', '.join(known)}")
    own = rules_dir / "profiles" / profile / f"{name}.yaml"
    return own if profile != STANDARD_PROFILE and own.is_file() else rules_dir / f"{name}.yaml"


def load_policy(
    name: str,
    model: type[Model],
    directory: Path | None = None,
    profile: str = STANDARD_PROFILE,
    rules_dir: Path = SHIPPED_RULES,
) -> tuple[Model, str]:
    """The validated policy `<rules_dir>/<name>.yaml` (or its profile's replacement) and its version
    label (`v<version>-<hash>`, prefixed `<profile>/` when a profile's own file was used). A run
    passes its Settings' `rules_dir`; the default is the shipped `rules/`. Validators find the folder
    in the validation context (`rules_dir`), for instance to check that a template exists."""
    path = directory / f"{name}.yaml" if directory is not None else policy_file(name, profile, rules_dir)
    try:
        raw = path.read_bytes()
        policy = model.model_validate(yaml.safe_load(raw) or {}, context={"rules_dir": rules_dir})
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise PolicyError(f"{path.name}: {problems}") from None
    version = getattr(policy, "version", 0)
    label = f"v{version}-{hashlib.sha256(raw).hexdigest()[:8]}"
    return policy, (f"{profile}/{label}" if path.parent.parent == rules_dir / "profiles" else label)

"""Loading policy files: YAML validated by pydantic, with a version and a content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.config import RULES_DIR

Model = TypeVar("Model", bound=BaseModel)


class PolicyError(ValueError):
    """A policy file that does not say what the policy must say."""


def load_policy(name: str, model: type[Model], directory: Path = RULES_DIR) -> tuple[Model, str]:
    """The validated policy `rules/<name>.yaml` and its version label (`v<version>-<hash>`)."""
    path = directory / f"{name}.yaml"
    try:
        raw = path.read_bytes()
        policy = model.model_validate(yaml.safe_load(raw) or {})
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise PolicyError(f"{path.name}: {problems}") from None
    version = getattr(policy, "version", 0)
    return policy, f"v{version}-{hashlib.sha256(raw).hexdigest()[:8]}"

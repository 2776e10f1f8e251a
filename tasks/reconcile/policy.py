"""The standard matching policy, for callers that run cash application outside the flow.

The reconcile flow loads its policy through `tasks.platform.policy.load_policy` (with the run's profile and
its version label) and passes it in; benchmarks and tests that want the shipped `rules/matching.yaml`
call `default_policy()`, which loads it the same way when first called (never at import).
"""

from __future__ import annotations

from functools import cache

from rules.matching import MatchingPolicy
from tasks.platform.policy import load_policy


@cache
def default_policy() -> MatchingPolicy:
    """The standard profile's `rules/matching.yaml`, validated; loaded once, on the first call."""
    policy, _ = load_policy("matching", MatchingPolicy)
    return policy

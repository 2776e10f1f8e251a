"""The base of every refusal of an input: a stage run that meets one ends with its one-line message.

A domain's own refusal (ingest's `SourceRejected`, for a file that cannot be read as its dataset)
derives from `InputRejected`, so the stage runner knows it without importing the domain.
"""

from __future__ import annotations


class InputRejected(Exception):
    """An input that cannot be read as what it must be; nothing of it reaches the ledger."""

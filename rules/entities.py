"""The seller's legal entities (`rules/entities.yaml`): its model lives with the platform
(`tasks/platform/entities.py`), which prints the entities on every document; named here beside the
other policies' models."""

from __future__ import annotations

from tasks.platform.entities import DEFAULT_ENTITY, Address, Bank, Contact, Entities, Entity

__all__ = ["DEFAULT_ENTITY", "Address", "Bank", "Contact", "Entities", "Entity"]

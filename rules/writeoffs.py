"""Write-off approval limits (`rules/writeoffs.yaml`): who may approve, up to how much per currency."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from tasks.platform.money import MoneyError, to_minor


class WriteOffPolicy(BaseModel):
    version: int
    approvers: dict[str, dict[str, str]] = Field(min_length=1)

    @field_validator("approvers")
    @classmethod
    def _limits_exact(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for person, limits in value.items():
            if not limits:
                raise ValueError(f"{person}: no limit given")
            for currency, amount in limits.items():
                try:
                    to_minor(str(amount), "JPY" if currency == "default" else currency)
                except MoneyError as exc:
                    raise ValueError(f"{person}.{currency}: {exc}") from None
        return value

    def limit_minor(self, approver: str, currency: str) -> int | None:
        """The most `approver` may approve in one write-off in `currency`; None: not an approver."""
        limits = self.approvers.get(approver)
        if limits is None:
            return None
        raw = limits.get(currency, limits.get("default"))
        return None if raw is None else to_minor(str(raw), currency)

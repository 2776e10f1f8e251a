"""The one place that knows where things live and which implementations are chosen.

Business code asks this module for the workspace, the mailer kind and the lock timeout; it never
reads the environment itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The rule and contract files the project ships; a run reads the folders its Settings name (a replay,
# `o2c audit replay`, names the files as an earlier run had them).
SHIPPED_RULES = PROJECT_ROOT / "rules"
SHIPPED_CONTRACTS = PROJECT_ROOT / "data_contracts"
SHIPPED_TEMPLATES = SHIPPED_RULES / "templates"
SQL_DIR = PROJECT_ROOT / "sql"


@dataclass(frozen=True)
class Settings:
    home: Path
    mailer: str = "file"
    sendgrid_api_key: str | None = None
    sendgrid_host: str | None = None
    mail_from: str = "receivables@example.com"
    sendgrid_sandbox: bool = False
    sendgrid_timeout_seconds: float = 10.0
    sendgrid_secret_block: str = "sendgrid-api-key"
    # the verification key of SendGrid's signed event webhook (`o2c webhook`), as SendGrid shows it
    sendgrid_webhook_key: str | None = None
    mail_daily_cap: int = 1
    mail_rate_per_second: float = 10.0
    mail_concurrency: int = 4  # messages handed to SendGrid at once (within the rate)
    lock_timeout_seconds: float = 600.0
    invoice_series: str = "O2C"
    seller_name: str | None = None  # `O2C_SELLER_NAME`: wins over entities.yaml's default entity
    entity_names: tuple[tuple[str, str], ...] = ()
    report_recipients: tuple[str, ...] = ()  # the distribution list the report is e-mailed to
    reporting_currency: str | None = None  # `O2C_REPORTING_CURRENCY`: the report also totals in it
    ops_recipients: tuple[str, ...] = ()  # finance ops, told by e-mail when a run fails
    rules_dir: Path = SHIPPED_RULES  # policies, profiles and templates (`O2C_RULES_DIR`)
    contracts_dir: Path = SHIPPED_CONTRACTS  # data contracts and shipped mappings (`O2C_CONTRACTS_DIR`)
    # where the team's server shows this workspace's reports and Data Docs (`o2c site`, `o2c serve
    # --site-port`): the Prefect UI's links point there instead of to a file on the worker's disk
    public_url: str | None = None
    # the PostgreSQL ledger (`O2C_LEDGER_URL`), the system of record instead of the workspace's file;
    # the stages compute in a working copy of it under the workspace
    ledger_url: str | None = None

    def seller(self, legal_entity: object) -> Any:
        """The legal entity that bills a customer of `legal_entity` ('' or None: the default one), as
        documents print it (`tasks.platform.sellers.Party`): master data from the rules folder's
        `entities.yaml`, the name from `O2C_SELLER_NAMES` / `O2C_SELLER_NAME` where they are set."""
        from tasks.platform.sellers import seller_party

        return seller_party(legal_entity, self.rules_dir, dict(self.entity_names), self.seller_name)

    def seller_of(self, legal_entity: object) -> str:
        """The name a legal entity's documents and e-mails carry."""
        return str(self.seller(legal_entity).name)

    @property
    def templates(self) -> Path:
        return self.rules_dir / "templates"

    @property
    def ledger_path(self) -> Path:
        """The ledger file; with `O2C_LEDGER_URL`, the working copy of the PostgreSQL ledger."""
        if self.ledger_url:
            from tasks.platform.ledger.working_copy import working_copy

            return working_copy(self.ledger_url, self.home)
        return self.home / "ledger.duckdb"

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    def __repr__(self) -> str:  # never print the API key
        return f"Settings(home={str(self.home)!r}, mailer={self.mailer!r})"


SHADOW_MARKER = ".o2c-shadow"
"""A file in a workspace that makes it a shadow (`o2c run --shadow`): its own DuckDB ledger whatever
`O2C_LEDGER_URL` says, and e-mails written to its outbox folder, never sent."""


def load_settings(home: str | Path | None = None) -> Settings:
    """Settings from the environment; `home` (the `--home` option) wins over `O2C_HOME`. A shadow
    workspace (`SHADOW_MARKER`) keeps its own ledger file and never sends mail."""
    chosen = Path(home or os.environ.get("O2C_HOME") or "var").resolve()
    shadow = (chosen / SHADOW_MARKER).exists()
    return Settings(
        home=chosen,
        mailer="file" if shadow else os.environ.get("O2C_MAILER", "file"),
        sendgrid_api_key=os.environ.get("SENDGRID_API_KEY") or None,
        sendgrid_host=os.environ.get("O2C_SENDGRID_HOST") or None,
        mail_from=os.environ.get("O2C_MAIL_FROM", "receivables@example.com"),
        sendgrid_sandbox=os.environ.get("O2C_SENDGRID_SANDBOX", "") in ("1", "true", "yes"),
        sendgrid_timeout_seconds=_number("O2C_SENDGRID_TIMEOUT", "10", float),
        sendgrid_secret_block=os.environ.get("O2C_SENDGRID_SECRET_BLOCK", "sendgrid-api-key"),
        sendgrid_webhook_key=os.environ.get("O2C_SENDGRID_WEBHOOK_KEY", "").strip() or None,
        mail_daily_cap=_number("O2C_MAIL_DAILY_CAP", "1", int),
        mail_rate_per_second=_number("O2C_MAIL_RATE", "10", float),
        mail_concurrency=max(1, _number("O2C_MAIL_CONCURRENCY", "4", int)),
        lock_timeout_seconds=_number("O2C_LOCK_TIMEOUT", "600", float),
        invoice_series=os.environ.get("O2C_INVOICE_SERIES", "O2C"),
        seller_name=os.environ.get("O2C_SELLER_NAME", "").strip() or None,
        entity_names=_entity_names(os.environ.get("O2C_SELLER_NAMES", "")),
        report_recipients=_addresses("O2C_REPORT_RECIPIENTS"),
        reporting_currency=_currency("O2C_REPORTING_CURRENCY"),
        ops_recipients=_addresses("O2C_OPS_RECIPIENTS"),
        rules_dir=Path(os.environ.get("O2C_RULES_DIR") or SHIPPED_RULES),
        contracts_dir=Path(os.environ.get("O2C_CONTRACTS_DIR") or SHIPPED_CONTRACTS),
        public_url=_public_url(os.environ.get("O2C_PUBLIC_URL", "")),
        ledger_url=None if shadow else _ledger_url(os.environ.get("O2C_LEDGER_URL", "")),
    )


def _ledger_url(text: str) -> str | None:
    """`O2C_LEDGER_URL`: a PostgreSQL URL (`postgresql://` or SQLAlchemy's `postgresql+psycopg://`)."""
    import re

    text = text.strip()
    if not text:
        return None
    if not re.match(r"^postgres(ql)?(\+psycopg)?://[^/]+/[^/?#]+", text):
        shown = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", text)
        raise SettingsError(
            f"O2C_LEDGER_URL={shown!r} is not a PostgreSQL URL with a database, such as"
            " postgresql+psycopg://o2c@db.example.com:5432/o2c"
        )
    return text


def _currency(variable: str) -> str | None:
    """An ISO 4217 currency code o2c knows, or None when the variable is empty."""
    from tasks.platform.money import is_currency

    text = os.environ.get(variable, "").strip().upper()
    if not text:
        return None
    if not is_currency(text):
        raise SettingsError(f"{variable}={text!r} is not an ISO 4217 currency code such as EUR")
    return text


def _addresses(variable: str) -> tuple[str, ...]:
    """A list of e-mail addresses, separated by commas or semicolons."""
    return tuple(a.strip() for a in os.environ.get(variable, "").replace(";", ",").split(",") if a.strip())


def _public_url(text: str) -> str | None:
    """`O2C_PUBLIC_URL`: an http(s) address with a host and nothing after its path; without the
    trailing slash."""
    from urllib.parse import urlsplit

    text = text.strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            f"O2C_PUBLIC_URL={text!r} is not an http(s) address such as https://o2c.example.com/ledger"
        )
    return text.rstrip("/")


class SettingsError(ValueError):
    """A setting in the environment that cannot be read; the message names the variable."""


def _number(name: str, default: str, kind: type[int] | type[float]) -> Any:
    raw = os.environ.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number") from None


def _entity_names(text: str) -> tuple[tuple[str, str], ...]:
    """`DE01=Example GmbH;FR01=Example SARL` as pairs; a part without `=` is a configuration error."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        entity, sep, name = part.partition("=")
        if not sep or not entity.strip() or not name.strip():
            raise SettingsError(f"O2C_SELLER_NAMES: {part!r} is not ENTITY=Name")
        pairs.append((entity.strip(), name.strip()))
    return tuple(pairs)

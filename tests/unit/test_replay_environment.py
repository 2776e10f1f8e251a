"""A replay's child processes never report to the team's Prefect server or its database, and never
write to the team's PostgreSQL ledger."""

from __future__ import annotations

from pathlib import Path

from tasks.report.replay import replay_environment


def test_a_replay_drops_every_setting_that_names_a_prefect_server(tmp_path: Path) -> None:
    team = {
        "PATH": "/usr/bin",
        "PREFECT_API_URL": "http://prefect.example:4200/api",
        "PREFECT_API_KEY": "pnu_secret",
        "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql+asyncpg://prefect@db/prefect",
        "PREFECT_PROFILE": "team",
        "PREFECT_HOME": "/srv/prefect",
        "PREFECT_UI_API_URL": "http://prefect.example:4200/api",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "O2C_HOME": "/srv/o2c",
        "O2C_MAILER": "sendgrid",
        "SENDGRID_API_KEY": "SG.secret",
        "O2C_LEDGER_URL": "postgresql+psycopg://o2c@db/o2c_acme",
    }
    env = replay_environment(team, tmp_path / "replay", tmp_path / "prefect")
    assert {k for k in env if k.startswith("PREFECT_")} == {
        "PREFECT_HOME",
        "PREFECT_LOGGING_LEVEL",
        "PREFECT_SERVER_ANALYTICS_ENABLED",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",  # how long its temporary API may take to start
    }
    assert env["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert (env["O2C_HOME"], env["O2C_MAILER"]) == (str(tmp_path / "replay"), "file")
    assert env["PATH"] == "/usr/bin"
    assert "O2C_LEDGER_URL" not in env  # the replay's own empty ledger, never the team's

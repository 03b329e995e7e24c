"""The Dagster instance the CLI and the UI share: ``DAGSTER_HOME`` when set, else the
project-local ``.dagster_home`` (SQLite), made on first use with the project's
``dagster.yaml``. A CLI run is then in the UI's run list, and the UI's cut
comparison sees the cuts the CLI published.

Before opening an instance whose storage is PostgreSQL, one connection is tried
with a short timeout, so an unreachable or misconfigured database is one clear
line instead of Dagster's retries and a stack trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from trial_outcomes.errors import UsageError

LOCAL_HOME = ".dagster_home"
DEFAULT_YAML = """# The project-local Dagster instance: SQLite under this folder.
telemetry:
  enabled: false
nux:
  enabled: false
python_logs:
  python_log_level: INFO
run_coordinator:
  module: trial_outcomes.pipelines.coordinator
  class: CutCheckingRunCoordinator
concurrency:
  runs:
    tag_concurrency_limits:
      - key: "dagster/partition"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
      - key: "trial/output_folder"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


def home() -> Path:
    """``DAGSTER_HOME``, or ``./.dagster_home`` (made with the project's dagster.yaml)."""
    configured = os.environ.get("DAGSTER_HOME")
    path = Path(configured or LOCAL_HOME).resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"DAGSTER_HOME {path} is a file, not a folder")
    path.mkdir(parents=True, exist_ok=True)
    yaml = path / "dagster.yaml"
    if not yaml.exists():
        source = Path("dagster.yaml")
        yaml.write_text(source.read_text() if source.is_file() and not configured else DEFAULT_YAML)
    return path


def _postgres_settings(config: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("storage", "run_storage", "event_log_storage"):
        section = config.get(key) or {}
        postgres = section.get("postgres") if isinstance(section, dict) else None
        if isinstance(postgres, dict):
            return postgres.get("postgres_db") or {"postgres_url": postgres.get("postgres_url")}
    return None


def _value(item: Any) -> str:
    if isinstance(item, dict) and "env" in item:
        name = item["env"]
        if name not in os.environ:
            raise UsageError(f"the Dagster instance needs the environment variable {name} (dagster.yaml, storage)")
        return os.environ[name]
    return "" if item is None else str(item)


def check_database(path: Path) -> None:
    """Fail in one line, within seconds, when the instance's PostgreSQL cannot be reached."""
    import yaml

    config = yaml.safe_load((path / "dagster.yaml").read_text()) or {}
    settings = _postgres_settings(config)
    if settings is None:
        return
    import psycopg2

    try:
        if settings.get("postgres_url"):
            psycopg2.connect(_value(settings["postgres_url"]), connect_timeout=3).close()
            where = "the configured URL"
        else:
            params = {
                "host": _value(settings.get("hostname")),
                "port": _value(settings.get("port") or 5432),
                "user": _value(settings.get("username")),
                "password": _value(settings.get("password")),
                "dbname": _value(settings.get("db_name")),
            }
            where = f"{params['host']}:{params['port']}/{params['dbname']}"
            psycopg2.connect(connect_timeout=3, **params).close()
    except psycopg2.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"the Dagster instance's PostgreSQL at {where} cannot be used ({first}); "
            f"check {path / 'dagster.yaml'} and the DAGSTER_PG_* variables"
        ) from None


@contextmanager
def open_instance() -> Iterator[dg.DagsterInstance]:
    path = home()
    check_database(path)
    with dg.DagsterInstance.from_config(str(path)) as instance:
        yield instance

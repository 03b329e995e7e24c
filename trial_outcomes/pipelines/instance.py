"""The Dagster instance the CLI and the UI share: ``DAGSTER_HOME`` when set, else the
project-local ``.dagster_home`` (SQLite), made on first use with the project's
``dagster.yaml``. A CLI run is then in the UI's run list, and the UI's cut
comparison sees the cuts the CLI published.

Before opening an instance whose storage is PostgreSQL, one connection is tried
with a short timeout, so an unreachable or misconfigured database is one clear
line instead of Dagster's retries and a stack trace.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.compute_log_manager import ComputeLogManager
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

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


def _config(path: Path) -> dict[str, Any]:
    """The instance's dagster.yaml as a mapping (empty when it holds none)."""
    import yaml

    config = yaml.safe_load((path / "dagster.yaml").read_text())
    return config if isinstance(config, dict) else {}


def check_database(path: Path, config: dict[str, Any]) -> None:
    """Fail in one line, within seconds, when the instance's PostgreSQL cannot be reached."""
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


#: the partitions found to exist while ``partitions_remembered`` is open, each with the
#: time it was found (None: not open)
_KNOWN_PARTITIONS: ContextVar[dict[tuple[int, str, str], float] | None] = ContextVar(
    "trial_known_partitions", default=None
)
#: set while ``output_to_terminal`` is open (the CLI's run, in this thread)
_TO_TERMINAL: ContextVar[bool] = ContextVar("trial_output_to_terminal", default=False)
#: how long a found partition is remembered: a partition deleted during a run still fails
#: the run at a step that starts after this (as it did when every question went to storage)
REMEMBER_SECONDS = 2.0


@dataclass
class _Kept:
    """What ``_EnginesKept`` keeps for one database: its engine, and a connection that
    stays open while it is kept (``anchor``)."""

    engine: Engine
    anchor: sqlite3.Connection | None = None

    def close(self) -> None:
        if self.anchor is not None:
            self.anchor.close()  # the last connection: SQLite folds its log into the database here
        self.engine.dispose()


class _EnginesKept(SqliteEventLogStorage):
    """Dagster's SQLite event log, with each database's engine made once and one
    connection to it kept open.

    Dagster's own makes a new engine for every write and read (its ``_connect``), so each
    of a sample run's 685 events paid for making an engine and compiling its statements
    again, and for closing the database's last connection: SQLite then copies its
    write-ahead log into the database, syncs it and deletes the log, once an event. The
    kept engine keeps its compiled statements, and the kept connection (idle, in no
    transaction) makes each use's own connection not the last, so the log is copied when
    it reaches SQLite's 1,000 pages and when the kept connection closes. Each use still
    opens its own connection (``NullPool``) and commits on it, synced as before, so other
    processes (the UI, the daemon) read every event as soon as it is stored, and the UI's
    watcher is woken by each (``store_event``). A table found
    in the index database is not looked for again (Dagster asks at every check's event).
    What is kept is kept for the ``KEPT_ENGINES`` databases used last (a run uses two:
    its own and the index). Storing 500 events: 3.2-4.2 -> 1.2-1.4 ms each for the
    connection kept, alternated three times; a sample run's 685: 5.7-6.0 -> 4.0-5.1 s
    for the engine alone, alternated twice."""

    KEPT_ENGINES = 8

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()  # before Dagster's own, which may connect
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            kept = self._kept.pop(shard, None)
            if kept is None:
                kept = _Kept(
                    create_engine(
                        self.conn_string_for_shard(shard),
                        poolclass=NullPool,
                        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                    )
                )
            self._kept[shard] = kept  # the one used last, last
            while len(self._kept) > self.KEPT_ENGINES:
                self._kept.popitem(last=False)[1].close()
            if shard not in self._initialized_dbs:
                self._initdb(kept.engine)
                self._initialized_dbs.add(shard)
            if kept.anchor is None:  # after ``_initdb``: the database exists, in WAL mode
                kept.anchor = sqlite3.connect(
                    self.path_for_shard(shard), timeout=SQLITE_BUSY_TIMEOUT_SECONDS, check_same_thread=False
                )
                kept.anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens it; no transaction held
            with kept.engine.connect() as conn, conn.begin():
                yield conn

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        # the UI's live run log (Dagster's watcher) wakes when the run's database file
        # changes; with the kept connection a commit changes only its write-ahead log, so
        # the file's time is set, which the watcher sees as a change (a reviewer's finding:
        # the UI's log of a CLI run stood still until the run ended)
        with contextlib.suppress(OSError):
            os.utime(self.path_for_shard(event.run_id))

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)  # Dagster's migrations add tables, never drop one
        return table_name in self._tables

    def _let_go(self) -> None:
        with self._db_lock:
            while self._kept:
                self._kept.popitem()[1].close()

    def wipe(self) -> None:
        self._let_go()  # the databases are deleted: nothing kept may point at the old files
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # Dagster's watchers stopped first: none can open a database after
        self._let_go()


class TrialInstance(dg.DagsterInstance):
    """The instance a CLI or portfolio run opens (``open_instance``): Dagster's own, except
    that inside ``partitions_remembered`` a partition once found is not asked for again,
    and that Dagster's SQLite event log keeps its engines and a connection to each database
    (``_EnginesKept``; PostgreSQL's storage pools its own connections).

    Dagster asks the instance whether the run's cut is a partition for every input a step
    loads and every output it stores, twice each (the two ends of a one-key range), and on
    SQLite each question opens two connections: 775 questions in a sample run, 3.1 s of its
    20 (timed in the run's process). A run validates its partition before its first step;
    within the run a found partition is remembered for ``REMEMBER_SECONDS``, so a partition
    deleted while the run goes on still fails it at a later step, as before (a reviewer's
    finding against remembering it for the whole run). A partition not found is asked
    again each time; outside the scope (the UI, the daemon, a sensor) every question goes
    to storage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        storage = kwargs.get("event_storage")  # Dagster makes an instance from its parts by name
        if type(storage) is SqliteEventLogStorage:  # Dagster's own, not a deployment's subclass
            kwargs["event_storage"] = _EnginesKept(storage._base_dir, storage.inst_data)
        super().__init__(*args, **kwargs)

    @classmethod
    def config_schema(cls) -> dict[str, Any]:  # Dagster asks a custom instance class for both
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Any:
        return InstanceRef.config_defaults(base_dir)

    @property
    def compute_log_manager(self) -> ComputeLogManager:
        """Dagster's, except inside ``output_to_terminal``: there a run's output is not
        captured. Dagster captures a run's stdout and stderr by sending each to a file and
        starting a ``tail -F`` of it, with a Python watcher beside each tail, all in the
        terminal's process group: Ctrl-C reached the two watchers, which each printed a
        KeyboardInterrupt traceback under the CLI's one line saying the run was stopped."""
        if _TO_TERMINAL.get():
            return _NOT_CAPTURED
        return super().compute_log_manager

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        known = _KNOWN_PARTITIONS.get()
        key = (id(self), partitions_def_name, partition_key)
        if known is not None and time.monotonic() - known.get(key, -math.inf) < REMEMBER_SECONDS:
            return True
        found = super().has_dynamic_partition(partitions_def_name, partition_key)
        if known is not None:
            if found:
                known[key] = time.monotonic()
            else:
                known.pop(key, None)
        return found


@contextmanager
def partitions_remembered() -> Iterator[None]:
    """Within this block (one run's execution, in this thread), ``TrialInstance`` answers
    a partition found once without asking storage again."""
    token = _KNOWN_PARTITIONS.set({})
    try:
        yield
    finally:
        _KNOWN_PARTITIONS.reset(token)


_NOT_CAPTURED = NoOpComputeLogManager()


@contextmanager
def output_to_terminal() -> Iterator[None]:
    """Within this block (a CLI run, in this thread), a ``TrialInstance`` captures no step's
    stdout or stderr: they go to the terminal as they are, and the run has no compute logs
    in the UI (its events and the CLI's lines say what each step did). A run from the UI,
    the daemon or a sensor is captured as Dagster does."""
    token = _TO_TERMINAL.set(True)
    try:
        yield
    finally:
        _TO_TERMINAL.reset(token)


@contextmanager
def open_instance() -> Iterator[dg.DagsterInstance]:
    """The instance at ``home()``, a ``TrialInstance`` unless its dagster.yaml names its own class."""
    path = home()
    config = _config(path)
    check_database(path, config)
    ours = {"instance_class": {"module": __name__, "class": TrialInstance.__name__}}
    ref = InstanceRef.from_dir(str(path), overrides={} if config.get("instance_class") else ours)
    with dg.DagsterInstance.from_ref(ref) as instance:
        yield instance


#: how Dagster's error info begins the message of a ``dg.Failure``
FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "


def innermost(error: Any) -> Any:
    """The first exception of a Dagster error's chain (``SerializableErrorInfo.cause``)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def error_text(error: Any) -> str:
    """A step's error (Dagster's ``SerializableErrorInfo``) in a line: its message and, when it
    wraps another, the innermost cause's, which says what happened (a red team's second run
    of a cut printed only "Error executing resource_fn on ResourceDefinition output_store",
    where the cause said which run was writing the cut)."""
    text = error.message.strip()
    cause = innermost(error).message.strip()
    return text if cause in text else f"{text} (cause: {cause})"


def resource_failure(instance: dg.DagsterInstance, run_id: str, step_key: str) -> str:
    """The innermost cause of the failed initialisation of a step's resources, as the
    process that ran the step recorded it (``RESOURCE_INIT_FAILURE``), the latest; empty
    when none. A celery worker records it in the instance before its task fails, and
    celery's task error drops it."""
    from dagster._core.events import DagsterEventType

    records = instance.all_logs(run_id, of_type=DagsterEventType.RESOURCE_INIT_FAILURE)
    for record in reversed(records):
        event = record.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        if event is not None and event.step_key in (step_key, None) and error is not None:
            return innermost(error).message.strip().removeprefix(FAILURE_PREFIX)
    return ""

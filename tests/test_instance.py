"""The Dagster instance files keep a run's event log to INFO and above: Dagster's own
DEBUG lines (two per input a step loads) were a quarter of a sample run's stored
events, each a database write, and carry nothing the structured events do not."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from trial_outcomes.pipelines.instance import DEFAULT_YAML

ROOT = Path(__file__).resolve().parents[1]


def test_every_instance_file_keeps_info_and_above() -> None:
    sources = {
        "dagster.yaml": (ROOT / "dagster.yaml").read_text(),
        "deploy/dagster-postgres.yaml": (ROOT / "deploy" / "dagster-postgres.yaml").read_text(),
        "the project-local default": DEFAULT_YAML,
    }
    for name, text in sources.items():
        assert yaml.safe_load(text)["python_logs"] == {"python_log_level": "INFO"}, name
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())
    assert values["pythonLogs"] == {"pythonLogLevel": "INFO"}


def test_a_run_on_the_default_instance_stores_info_and_not_debug() -> None:
    @dg.asset
    def speaks(context) -> int:  # type: ignore[no-untyped-def]
        context.log.debug("a debug line")
        context.log.info("an info line")
        context.log.warning("a warning line")
        return 1

    with dg.instance_for_test(overrides=yaml.safe_load(DEFAULT_YAML)) as instance:
        result = dg.materialize([speaks], instance=instance)
        assert result.success
        messages = [record.user_message for record in instance.all_logs(result.run_id) if not record.is_dagster_event]
    assert "an info line" in messages
    assert "a warning line" in messages
    assert "a debug line" not in messages


def test_the_ui_makes_the_storage_tables_before_starting_its_servers(tmp_path, monkeypatch):
    """A fresh clone's suite saw `trial-outcomes ui` exit at once: its web server and
    daemon, started together on a new home, both made the SQLite tables and the daemon
    lost ("table asset_daemon_asset_evaluations already exists"). The CLI now opens the
    instance first: the tables of runs, schedules and sensors exist before either starts,
    and opening it again (a second start) changes nothing."""
    import sqlite3

    from trial_outcomes.cli import prepare_storage

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    prepare_storage()
    prepare_storage()
    with sqlite3.connect(tmp_path / "home" / "schedules" / "schedules.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    assert {"asset_daemon_asset_evaluations", "instigators", "job_ticks"} <= tables
    assert (tmp_path / "home" / "history" / "runs.db").is_file()


def _counting_storage(instance, monkeypatch) -> list[str]:
    """The keys ``instance``'s storage is asked about, in order."""
    storage = instance.event_log_storage
    asked: list[str] = []
    original = storage.has_dynamic_partition

    def has(partitions_def_name: str, partition_key: str) -> bool:
        asked.append(partition_key)
        return original(partitions_def_name, partition_key)

    monkeypatch.setattr(storage, "has_dynamic_partition", has)
    return asked


def test_within_a_run_a_found_partition_is_not_asked_for_again(tmp_path, monkeypatch):
    """``open_instance`` gives a ``TrialInstance``: inside ``partitions_remembered`` (a
    run's execution) a cut found once is answered without storage; a cut not found is
    asked each time (it may be added meanwhile); outside the block every question goes
    to storage, as in the UI's and the daemon's own instances."""
    from trial_outcomes.pipelines.instance import TrialInstance, open_instance, partitions_remembered

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with open_instance() as instance:
        assert isinstance(instance, TrialInstance)
        instance.add_dynamic_partitions("data_cut", ["2024-03-31"])
        asked = _counting_storage(instance, monkeypatch)
        with partitions_remembered():
            for _ in range(3):
                assert instance.has_dynamic_partition("data_cut", "2024-03-31")
                assert not instance.has_dynamic_partition("data_cut", "2024-06-30")
        assert asked == ["2024-03-31"] + ["2024-06-30"] * 3
        asked.clear()
        instance.delete_dynamic_partition("data_cut", "2024-03-31")
        assert not instance.has_dynamic_partition("data_cut", "2024-03-31")  # outside a run: storage's answer
        with partitions_remembered():  # a new run remembers nothing of the last
            assert not instance.has_dynamic_partition("data_cut", "2024-03-31")
        assert asked == ["2024-03-31", "2024-03-31"]


def test_a_cli_run_captures_no_output_and_other_runs_do(tmp_path, monkeypatch):
    """Inside ``output_to_terminal`` (the CLI's run) a ``TrialInstance`` captures nothing:
    Dagster's capture starts a tail and a Python watcher per stream in the terminal's
    process group, and Ctrl-C made each watcher print a traceback. Outside it (the UI,
    the daemon, a sensor) the run's output is captured to the instance's compute logs."""
    from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

    from trial_outcomes.pipelines.instance import open_instance, output_to_terminal

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with open_instance() as instance:
        assert isinstance(instance.compute_log_manager, LocalComputeLogManager)
        with output_to_terminal():
            assert isinstance(instance.compute_log_manager, NoOpComputeLogManager)
        assert isinstance(instance.compute_log_manager, LocalComputeLogManager)


def test_a_partition_deleted_during_a_run_is_found_gone_within_seconds(tmp_path, monkeypatch):
    """A found partition is remembered for ``REMEMBER_SECONDS``, not for the whole run: one
    deleted while a run goes on (from the UI) is asked again after that time, and its
    absence fails the run's next step as it did when every question went to storage."""
    from trial_outcomes.pipelines import instance as module

    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with module.open_instance() as instance:
        instance.add_dynamic_partitions("data_cut", ["2024-03-31"])
        asked = _counting_storage(instance, monkeypatch)
        with module.partitions_remembered():
            assert instance.has_dynamic_partition("data_cut", "2024-03-31")
            instance.delete_dynamic_partition("data_cut", "2024-03-31")
            clock[0] += module.REMEMBER_SECONDS / 2
            assert instance.has_dynamic_partition("data_cut", "2024-03-31")  # remembered
            clock[0] += module.REMEMBER_SECONDS
            assert not instance.has_dynamic_partition("data_cut", "2024-03-31")  # asked again: gone
        assert asked == ["2024-03-31", "2024-03-31"]


class SiteInstance(dg.DagsterInstance):
    """A deployment's own instance class (Dagster asks such a class for both)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str):  # type: ignore[no-untyped-def]
        from dagster._core.instance.ref import InstanceRef

        return InstanceRef.config_defaults(base_dir)


def test_an_instance_class_named_in_dagster_yaml_is_kept(tmp_path, monkeypatch):
    """A deployment that names its own instance class keeps it: ``TrialInstance`` is put
    in only where the instance's dagster.yaml names none."""
    from trial_outcomes.pipelines.instance import open_instance

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        DEFAULT_YAML + f"instance_class:\n  module: {__name__}\n  class: {SiteInstance.__name__}\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with open_instance() as instance:
        assert type(instance) is SiteInstance


def test_the_sqlite_event_log_keeps_one_engine_per_database_and_every_event_is_seen_at_once(tmp_path, monkeypatch):
    """``open_instance``'s SQLite event log makes an engine once for each database it
    writes (Dagster's own made one for every event), keeps those of the ``KEPT_ENGINES``
    databases used last, and still commits each event on a connection of its own: the
    UI's instance (Dagster's plain one, on the same folder) reads every event at once.
    Its kept connection leaves the write-ahead log in place between events (Dagster's
    own copied it into the database and deleted it at every event's close), and closing
    the instance folds it in: the database file alone then holds every event."""
    import sqlite3
    import time

    from dagster._core.events.log import EventLogEntry

    from trial_outcomes.pipelines import instance as module

    made: list[str] = []
    real = module.create_engine

    def create_engine(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(Path(str(url).split("///")[-1]).stem)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(module, "create_engine", create_engine)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    def entry(run_id: str, text: str) -> EventLogEntry:
        return EventLogEntry(error_info=None, level=20, user_message=text, run_id=run_id, timestamp=time.time())

    with module.open_instance() as instance:
        storage = instance.event_log_storage
        assert type(storage) is module._EnginesKept
        for i in range(20):
            storage.store_event(entry("run-a", f"event {i}"))
        assert made == ["run-a"]
        with dg.DagsterInstance.from_config(str(tmp_path / "home")) as ui:  # another reader, Dagster's own
            assert [r.user_message for r in ui.all_logs("run-a")] == [f"event {i}" for i in range(20)]
        database = Path(storage.path_for_shard("run-a"))
        assert Path(f"{database}-wal").stat().st_size > 0  # not folded in at each event
        seen: list[str] = []
        with dg.DagsterInstance.from_config(str(tmp_path / "home")) as ui:  # the UI's live run log
            ui.watch_event_logs("run-a", None, lambda record, cursor: seen.append(record.user_message))
            time.sleep(0.5)  # the watcher started
            for i in range(3):
                storage.store_event(entry("run-a", f"live {i}"))
            deadline = time.monotonic() + 10

            # the watcher reads from the start: the 20 earlier events come with the first
            # live one, so it is the live ones that are counted (counting all ended the
            # wait before the last was dispatched, once, under load)
            def live() -> list[str]:
                return [m for m in seen if m.startswith("live")]

            while len(live()) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            ui.end_watch_event_logs("run-a", seen.append)
        assert live() == ["live 0", "live 1", "live 2"]  # while the run goes on
        runs = [f"run-{i}" for i in range(storage.KEPT_ENGINES + 2)]
        for run_id in runs:
            storage.store_event(entry(run_id, "one"))
        assert list(storage._kept) == runs[-storage.KEPT_ENGINES :]  # the databases used last
        storage.store_event(entry("run-a", "again"))  # its engine was let go: made again
        assert made.count("run-a") == 2 and len(storage._kept) == storage.KEPT_ENGINES
    assert storage._kept == {}  # disposed with the instance
    assert not Path(f"{database}-wal").exists()  # folded in by the last connection's close
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM event_logs").fetchone() == (24,)


def test_the_kept_engines_start_on_a_new_folder_and_let_go_of_wiped_databases(tmp_path):
    """``_EnginesKept`` made on a folder without an index (Dagster's own then connects
    while it is made), and ``wipe`` (the run databases deleted) keeps nothing that points
    at a deleted file: only the index, emptied in place."""
    import time

    from dagster._core.events.log import EventLogEntry

    from trial_outcomes.pipelines.instance import _EnginesKept

    storage = _EnginesKept(str(tmp_path / "runs"))
    storage.store_event(EventLogEntry(error_info=None, level=20, user_message="x", run_id="r1", timestamp=time.time()))
    assert "r1" in storage._kept
    storage.wipe()  # the run databases deleted, the index emptied in place
    assert list(storage._kept) == ["index"]
    storage.dispose()
    assert storage._kept == {}

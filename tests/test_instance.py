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

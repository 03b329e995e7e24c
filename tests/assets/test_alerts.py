"""A crossed stopping boundary is unmissable: the check says so in its own words, the
run is tagged, and the boundary sensor tells the people the plan names, by webhook
(Slack, Teams or plain JSON) and by e-mail. The servers run on 127.0.0.1 for the
test only and stop by themselves."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import materialize_cut, plan_with_notify
from trial_outcomes.assets.shared import ANNOUNCED_TAG, PUBLISHED_FOLDER_TAG, STOPPING_TAG, TRIGGER_TAG, DropSettings
from trial_outcomes.pipelines.definitions import build_definitions
from trial_outcomes.pipelines.notify import Alert, announce, webhook_payload
from trial_outcomes.pipelines.runner import run_pipeline
from trial_outcomes.pipelines.sensors import published_queries
from trial_outcomes.plan import Notify
from trial_outcomes.reporting.summary import QUERY_TITLES

CUT = "2023-12-31"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    messages: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:
            messages.append(message)

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, messages
    controller.stop()


def _plan_with_notify(tmp_path: Path, webhook_url: str, smtp_port: int) -> Path:
    return plan_with_notify(tmp_path / "plan.toml", webhook_url, smtp_port)


@pytest.mark.slow  # a whole run (33 s): the fast tier keeps the alerts' payloads, retries and state
def test_a_crossed_boundary_is_in_the_check_the_run_tags_and_the_alerts(toxic_drop, tmp_path, webhook, smtp_server):
    url, posts = webhook
    port, mails = smtp_server
    plan = _plan_with_notify(tmp_path, url, port)
    # a lenient futility rule (p0 0.3, p1 0.5): only the safety boundary is crossed in this drop
    plan.write_text(plan.read_text().replace("p0 = 0.60", "p0 = 0.30").replace("p1 = 0.80", "p1 = 0.50"))
    out = tmp_path / "out"
    with dg.DagsterInstance.ephemeral() as instance:
        result, _ = materialize_cut(toxic_drop, out, CUT, instance=instance, plan=str(plan))
        assert result.success  # non-blocking: the report still comes out
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        safety = checks["safety_boundary"]
        assert not safety.passed and safety.severity == dg.AssetCheckSeverity.ERROR
        assert safety.partition == CUT  # each check result states its cut (issue 22: partition "-")
        assert safety.description.startswith(f"BOUNDARY CROSSED at cut {CUT}: ")
        assert checks["efficacy_futility_boundary"].description.startswith("Not crossed")
        run = instance.get_run_by_id(result.run_id)
        assert run.tags[STOPPING_TAG] == "BOUNDARY CROSSED: safety"
        # the run's page leads with every failed check, the errors first (issue 22)
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        tag = run.tags["trial/failed_checks"]
        assert tag.startswith(f"{len(failed)} failed: safety_boundary (stopping_rules)")
        assert all(e.check_name in tag for e in failed)

        defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(out), plan=str(plan)))
        sensor = defs.resolve_sensor_def("stopping_boundary_alert")
        success = result.get_run_success_event()
        for _ in range(2):  # a second evaluation of the same run tells no one again
            with dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(result.run_id),
                dagster_event=success,
            ) as context:
                sensor(context)
        assert instance.get_run_by_id(result.run_id).tags[ANNOUNCED_TAG] == "webhook: sent; e-mail: sent"
    assert len(posts) == 1 and posts[0]["text"].startswith(f"*[DSMB] Stopping boundary crossed at data cut {CUT}*")
    assert "- Safety (Bayesian beta-binomial): BOUNDARY CROSSED" in posts[0]["text"]
    assert str(out.resolve() / CUT / "report.pdf") in posts[0]["text"]
    assert len(mails) == 1 and mails[0]["To"] == "dsmb-statistician@trial.example"
    body = mails[0].get_payload(decode=True).decode()
    assert "Safety (Bayesian beta-binomial): BOUNDARY CROSSED" in body


@pytest.mark.slow  # a whole CLI run
def test_a_cli_run_announces_its_own_crossed_boundary_once(toxic_drop, tmp_path, webhook):
    """Nobody need run the daemon: `trial-outcomes run` tells the plan's people itself,
    and tags the run, so the boundary sensor (when a daemon runs) does not say it twice;
    nor does a second run of the same drop, which publishes the same version again."""
    url, posts = webhook
    plan = plan_with_notify(tmp_path / "plan.toml", url)
    outcome = run_pipeline(toxic_drop, tmp_path / "out", CUT, plan=str(plan))
    assert outcome.success and outcome.boundaries
    assert outcome.announcements == [f"[DSMB] Stopping boundary crossed at data cut {CUT}: webhook: sent"]
    assert len(posts) == 1
    defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(tmp_path / "out"), plan=str(plan)))
    sensor = defs.resolve_sensor_def("stopping_boundary_alert")
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run.tags[TRIGGER_TAG] == "cli" and run.tags[ANNOUNCED_TAG] == "webhook: sent"
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=instance.get_records_for_run(outcome.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
            .records[0]
            .event_log_entry.dagster_event,
        ) as context:
            skipped = sensor(context)
    assert "announced already" in str(skipped) and len(posts) == 1
    # the same drop run again publishes no new version: the board is not told of it twice
    again = run_pipeline(toxic_drop, tmp_path / "out", CUT, plan=str(plan))
    assert again.success and again.boundaries and again.publication.startswith("no new version: v001")
    assert again.announcements == [
        f"[DSMB] Stopping boundary crossed at data cut {CUT}: not sent: this version's alert is run "
        f"{outcome.run_id[:8]}'s (webhook: sent)"
    ]
    assert len(posts) == 1


def _toxic_portfolio(tmp_path: Path, toxic_drop: Path, webhook_url: str) -> Path:
    """A portfolio of one trial, the toxic drop, whose plan tells the test's webhook."""
    plan_with_notify(tmp_path / "plan.toml", webhook_url)
    path = tmp_path / "portfolio.toml"
    path.write_text(
        f'[[trials]]\nid = "toxic"\ndata = "{toxic_drop}"\nout = "published/toxic"\nplan = "plan.toml"\n\n'
        '[pooled]\nout = "published/pooled"\n'
    )
    return path


def _break_file_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the publishing step fail after the cut's link moved: it links the report's
    files (``file_url``) once the cut is published."""
    from trial_outcomes.io import file_server

    def broken(*args, **kwargs):
        raise RuntimeError("the file server's address could not be read")

    monkeypatch.setattr(file_server, "file_url", broken)


@pytest.mark.slow  # a whole run (30 s)
def test_a_run_that_fails_after_publishing_its_cut_says_both_and_announces_it(
    toxic_drop, tmp_path, webhook, monkeypatch, capsys
):
    """A step failing after the cut's link moved (here the report's file links, read after
    publication) used to print "FAILED; nothing was published" over a published cut whose
    safety boundary was crossed, and told no one: only the retry sensor, with a daemon,
    would have. The run now says the cut is published and what failed after, tells the
    plan's people once, and exits 3 (the boundary before the failure, as portfolio run)."""
    from trial_outcomes.cli import main

    url, posts = webhook
    plan = plan_with_notify(tmp_path / "plan.toml", url)
    monkeypatch.setenv("TRIAL_RSCRIPT", str(tmp_path / "no-rscript"))
    _break_file_links(monkeypatch)
    out = tmp_path / "out"
    args = ["run", "--data", str(toxic_drop), "--out", str(out), "--cut", CUT, "--plan", str(plan), "--quiet"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert f"trial-outcomes run FAILED after data cut {CUT} was published in {out / CUT} (published v001)" in err
    assert "nothing was published" not in err and "the file server's address could not be read" in err
    assert "STOPPING BOUNDARY CROSSED" in err
    assert f"[DSMB] Stopping boundary crossed at data cut {CUT}: webhook: sent" in err
    assert len(posts) == 1 and (out / CUT / "report.pdf").is_file()
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(limit=1)
    assert run.status == dg.DagsterRunStatus.FAILURE and run.tags[ANNOUNCED_TAG] == "webhook: sent"


def test_webhook_payloads_for_slack_teams_and_plain_json():
    alert = Alert("2024-03-31", "abcdef123456", ["BOUNDARY CROSSED at cut 2024-03-31: 6 of 10 ..."], "/r/report.pdf")
    assert webhook_payload(alert, "slack")["text"].startswith("*[DSMB] Stopping boundary crossed")
    card = webhook_payload(alert, "teams")["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == alert.subject
    plain = webhook_payload(alert, "generic")
    assert (plain["event"], plain["data_cut"], plain["report"]) == (
        "stopping_boundary_crossed",
        "2024-03-31",
        "/r/report.pdf",
    )


def test_every_drop_query_has_a_check_a_sentence_and_a_title():
    """The tables keyed by a drop query's check name agree: the asset's warning checks
    (``WARNINGS``, each a declared check of ``trial_drop``), the sentences of the manifest and report
    (``validation.QUERY_SENTENCES``) and page 1's titles (``QUERY_TITLES``, which also
    names the two findings on the folder's files and columns)."""
    from trial_outcomes.assets.validation import WARNINGS, trial_drop
    from trial_outcomes.io.validation import QUERY_SENTENCES

    assert list(WARNINGS) == list(QUERY_SENTENCES)
    assert set(WARNINGS) <= {spec.name for spec in trial_drop.check_specs}
    assert set(QUERY_TITLES) == set(QUERY_SENTENCES) | {"known_files", "known_columns"}


def test_the_alert_names_the_drops_open_data_queries(tmp_path):
    """A boundary crossed on a drop with open data queries says so beside the rules: the
    published manifest's queries by the titles the report's page 1 gives them, once each;
    a manifest that cannot be read gives none, and the alert still goes."""
    folder = tmp_path / "2024-03-31"
    folder.mkdir()
    queries = [
        {"check": "new_therapy_plausible", "finding": "1 new therapy record(s) ... (followup.csv row 337) ..."},
        {"check": "known_columns", "finding": "enrolment.csv: ..."},
        {"check": "known_columns", "finding": "followup.csv: ..."},
    ]
    (folder / "manifest.json").write_text(json.dumps({"data_drop": {"data_queries": queries}}))
    found = published_queries(folder)
    assert found == [QUERY_TITLES["new_therapy_plausible"], QUERY_TITLES["known_columns"]]
    alert = Alert("2024-03-31", "abcdef123456", ["Efficacy (Simon two-stage): BOUNDARY CROSSED"], "", queries=found)
    assert alert.text.splitlines()[2:] == [
        "- Efficacy (Simon two-stage): BOUNDARY CROSSED",
        "",
        "The drop has 2 open data queries; the numbers above use the drop as exported (the report's page 1 states "
        "each):",
        f"- {QUERY_TITLES['new_therapy_plausible']}",
        f"- {QUERY_TITLES['known_columns']}",
    ]
    assert webhook_payload(alert, "generic")["data_queries"] == found
    assert "1 open data query;" in Alert("c", "r", ["x"], queries=found[:1]).text
    assert "open data" not in Alert("c", "r", ["x"]).text
    # the Deaths section's queries, which page 1 counts too, after the drop's (a red team's
    # alert said "no data queries" beside page 1's "2 death(s) whose cause is uncategorised")
    deaths = [
        "2 death(s) whose cause is uncategorised (coded UNKNOWN, blank or unclassifiable) or coded against its text"
    ]
    (folder / "manifest.json").write_text(json.dumps({"data_drop": {"death_queries": deaths}}))
    assert published_queries(folder) == deaths
    (folder / "manifest.json").write_text(json.dumps({"data_drop": {"data_queries": queries, "death_queries": deaths}}))
    assert published_queries(folder) == [*found, *deaths]
    (folder / "manifest.json").write_text('{"data_drop": {"data_queries": null}}')
    assert published_queries(folder) == []
    (folder / "manifest.json").write_text("{ not json")
    assert published_queries(folder) == [] and published_queries(tmp_path / "none") == []


def test_one_channel_failing_does_not_stop_the_other(webhook):
    """A webhook on a closed port fails (said so); the e-mail channel is still tried."""
    url, posts = webhook
    notify = Notify(
        webhook_url="http://127.0.0.1:9/none",
        smtp_host="127.0.0.1",
        smtp_port=9,
        smtp_from="a@b.c",
        smtp_to=("d@e.f",),
        timeout_seconds=2,
        retries=0,
    )
    done = announce(notify, Alert("2024-03-31", "abc", ["x"]))
    assert [line.split(":")[0] for line in done] == ["webhook", "e-mail"]
    assert all("FAILED" in line for line in done)
    ok = announce(Notify(webhook_url=url), Alert("2024-03-31", "abc", ["x"]))
    assert ok == ["webhook: sent"] and len(posts) == 1


def test_a_delivery_is_retried_with_waits_and_never_raises():
    """Version 2: any error other than OSError (a ValueError from a bad URL) escaped
    after the cut was published. Now: two retries waiting 2 s and 4 s, then FAILED
    with the error's type, and no exception."""
    waits: list[float] = []
    calls = {"n": 0}

    def flaky(notify, alert):
        calls["n"] += 1
        raise ValueError("URL can't contain control characters")

    from trial_outcomes.pipelines import notify as module

    original = module.send_webhook
    module.send_webhook = flaky
    try:
        done = announce(
            Notify(webhook_url="http://127.0.0.1:9/x"), Alert("2024-03-31", "abc", ["x"]), sleep=waits.append
        )
    finally:
        module.send_webhook = original
    assert calls["n"] == 3 and waits == [2.0, 4.0]
    assert done == ["webhook: FAILED (ValueError: URL can't contain control characters)"]


@pytest.mark.slow  # a whole run (20 s)
def test_alert_state_is_durable_retried_and_never_sent_twice(toxic_drop, tmp_path):
    """The receiver is down when the run crosses the boundary: the cut is still
    published (success, the boundary reported) and the run's tag says FAILED, round 1,
    will retry. The receiver comes up on the same port: the retry sensor sends it
    once; evaluated again it sends nothing. A "sending" state left by a process that
    died is retried after ten minutes, not before. The sensor runs in the UI's process,
    started on another output folder with the packaged plan (no one to tell): it still
    tells the people of the plan the CLI run published, linking that run's report (a red
    team's retry went to the UI's plan's people, linking another drop's report)."""
    from tests.helpers import webhook_server_on
    from trial_outcomes.pipelines.sensors import ALERT_ROUNDS_TAG, alert_pending

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    plan = plan_with_notify(tmp_path / "plan.toml", url)
    plan.write_text(plan.read_text().replace("retry_wait_seconds = 2.0", "retry_wait_seconds = 0.0"))
    out = tmp_path / "out"
    outcome = run_pipeline(toxic_drop, out, CUT, plan=str(plan))
    assert outcome.success and outcome.boundaries and (out / CUT / "report.pdf").is_file()
    assert len(outcome.announcements) == 1 and "webhook: FAILED (URLError" in outcome.announcements[0]
    defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(tmp_path / "the-uis-out")))
    assert not defs.resources["settings"].analysis_plan().notify.enabled
    retry = defs.resolve_sensor_def("stopping_boundary_alert_retry")
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run.tags[ALERT_ROUNDS_TAG] == "1"
        assert "webhook: FAILED" in run.tags[ANNOUNCED_TAG] and "will retry" in run.tags[ANNOUNCED_TAG]
        with webhook_server_on(port) as (_, posts):
            for _ in range(2):
                with dg.build_sensor_context(instance=instance) as context:
                    retry(context)
            assert len(posts) == 1 and posts[0]["text"].startswith("*[DSMB] Stopping boundary crossed")
            assert f"Report: {out.resolve() / CUT / 'report.pdf'}" in posts[0]["text"]
        run = instance.get_run_by_id(outcome.run_id)
        assert run.tags[ANNOUNCED_TAG] == "webhook: sent" and run.tags[ALERT_ROUNDS_TAG] == "2"
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    sending = {
        STOPPING_TAG: "BOUNDARY CROSSED: safety",
        ANNOUNCED_TAG: f"sending since {(now - dt.timedelta(minutes=5)).isoformat()}",
    }
    assert not alert_pending(sending, now)
    assert alert_pending(sending, now + dt.timedelta(minutes=6))
    assert not alert_pending({STOPPING_TAG: "x", ANNOUNCED_TAG: "webhook: FAILED (x); GAVE UP after 10 rounds"}, now)


@pytest.mark.slow  # a whole run (20 s)
def test_the_alert_uses_the_plan_the_run_used_not_the_uis(toxic_drop, tmp_path, webhook):
    """Issue 22: a launchpad run naming a plan with [notify] crossed the boundary and the
    sensor, reading the plan the UI was started with (no one to tell), told nobody. The
    sensor now reads the plan published with the cut."""
    url, posts = webhook
    plan = plan_with_notify(tmp_path / "plan.toml", url)
    plan.write_text(plan.read_text().replace("p0 = 0.60", "p0 = 0.30").replace("p1 = 0.80", "p1 = 0.50"))
    out = tmp_path / "out"
    with dg.DagsterInstance.ephemeral() as instance:
        result, _ = materialize_cut(toxic_drop, out, CUT, instance=instance, plan=str(plan))
        assert result.success
        ui = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(out)))  # the UI's default plan
        assert not ui.resources["settings"].analysis_plan().notify.enabled
        sensor = ui.resolve_sensor_def("stopping_boundary_alert")
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            dagster_event=result.get_run_success_event(),
        ) as context:
            sensor(context)
        assert instance.get_run_by_id(result.run_id).tags[ANNOUNCED_TAG] == "webhook: sent"
    assert len(posts) == 1


def test_the_portfolio_announces_a_crossed_boundary_of_each_trial(tmp_path, webhook):
    """A red team's portfolio crossed the safety boundary and told no one: its
    definitions had no alert sensor, and `portfolio run` did not announce. The portfolio
    location now has both sensors, on its trials' job, and a run of trial "b" at a cut
    is announced through the plan published with that cut (else trial b's plan), with
    the report in trial b's output folder."""
    from trial_outcomes.pipelines.portfolio import TRIALS_JOB, build_portfolio_definitions, portfolio_alert_target
    from trial_outcomes.pipelines.portfolio_runner import partition_tags
    from trial_outcomes.portfolio import load_portfolio

    url, _ = webhook
    plan_with_notify(tmp_path / "b.toml", url)
    path = tmp_path / "portfolio.toml"
    path.write_text(
        '[[trials]]\nid = "a"\ndata = "drops/a"\nout = "published/a"\n\n'
        '[[trials]]\nid = "b"\ndata = "drops/b"\nout = "published/b"\nplan = "b.toml"\n\n'
        '[pooled]\nout = "published/pooled"\n'
    )
    defs = build_portfolio_definitions(path)
    for name in ("stopping_boundary_alert", "stopping_boundary_alert_retry"):
        assert defs.resolve_sensor_def(name) is not None
    run = dg.DagsterRun(job_name=TRIALS_JOB, run_id="r1", tags=partition_tags("b", "2024-03-31"))
    notify, out = portfolio_alert_target(load_portfolio(path))(run)
    assert notify.webhook_url == url and out == tmp_path / "published" / "b"
    published = out / "2024-03-31"
    published.mkdir(parents=True)
    plan_with_notify(published / "analysis_plan.toml", "http://127.0.0.1:9/published")
    assert portfolio_alert_target(load_portfolio(path))(run)[0].webhook_url == "http://127.0.0.1:9/published"


@pytest.mark.slow  # a whole run of one trial (35 s)
def test_portfolio_run_announces_a_crossed_boundary_and_exits_3(toxic_drop, tmp_path, webhook, capsys):
    """The toxic drop (every CRS grade 4) as a portfolio's one trial: `portfolio run`
    exits 3 (it exited 0), names the trial and cut on stderr, and the webhook is told
    once, the run tagged so the sensors do not tell it again."""
    from trial_outcomes.cli import main

    url, posts = webhook
    path = _toxic_portfolio(tmp_path, toxic_drop, url)
    status = main(["portfolio", "run", "--portfolio", str(path), "--cut", CUT, "--no-pooled"])
    err = capsys.readouterr().err
    assert status == 3
    assert f"STOPPING BOUNDARY CROSSED in trial toxic at {CUT}" in err
    assert f"[DSMB] Stopping boundary crossed at data cut {CUT}: webhook: sent" in err
    assert len(posts) == 1 and (tmp_path / "published" / "toxic" / CUT / "report.pdf").is_file()
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="portfolio_trials"))
        assert [r.tags.get(ANNOUNCED_TAG) for r in runs] == ["webhook: sent"]
        assert runs[0].tags[TRIGGER_TAG] == "portfolio"


@pytest.mark.slow  # a whole run of one trial (35 s); after the test above, which counts the instance's runs
def test_a_portfolio_run_that_fails_after_publishing_announces_its_cut(
    toxic_drop, tmp_path, webhook, monkeypatch, capsys
):
    """A step failing after the trial's cut was published (the report's file links): the
    run's line said "FAILED (...)" and the crossed boundary of its published cut was told to
    no one by `portfolio run` (only the retry sensor, with a daemon, ten minutes later).
    It now says the cut is published, and announces it, exit 3."""
    from trial_outcomes.cli import main

    url, posts = webhook
    path = _toxic_portfolio(tmp_path, toxic_drop, url)
    _break_file_links(monkeypatch)
    status = main(["portfolio", "run", "--portfolio", str(path), "--cut", CUT])
    out, err = capsys.readouterr()
    assert status == 3
    assert f"trial toxic at {CUT}: FAILED after publishing its cut (" in out
    assert "the file server's address could not be read" in out and "pooled analysis: not run" in out
    assert f"[DSMB] Stopping boundary crossed at data cut {CUT}: webhook: sent" in err
    assert len(posts) == 1 and (tmp_path / "published" / "toxic" / CUT / "report.pdf").is_file()
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(filters=dg.RunsFilter(job_name="portfolio_trials"), limit=1)
    assert run.status == dg.DagsterRunStatus.FAILURE and run.tags[ANNOUNCED_TAG] == "webhook: sent"

    assert "1 of 1 runs published with the in_process executor" in out and ", 1 failed" in out
    assert "portfolio retry" not in out  # nothing to retry: the cut is published

    # a retry of it is refused: its publishing step would run again, its working files now in the
    # published version (a reviewer's retry listed 60 files "missing", and, carrying the run's
    # folder, said it had published, exit 3), exit 2, nothing sent
    assert main(["portfolio", "retry", run.run_id, "--portfolio", str(path)]) == 2
    out, err = capsys.readouterr()
    assert f"published data cut {CUT} (v001) before it failed: the cut is published" in err
    assert "STOPPING BOUNDARY CROSSED" not in err and len(posts) == 1
    with dg.DagsterInstance.get() as instance:
        [latest] = instance.get_runs(filters=dg.RunsFilter(job_name="portfolio_trials"), limit=1)
    assert latest.run_id == run.run_id  # no retry run was made


def test_a_retry_tells_the_plan_of_the_version_the_run_published(tmp_path, monkeypatch):
    """A CLI run published v001 of the cut under plan A (webhook A), its alert FAILED;
    the cut was then republished as v002 under plan B (webhook B). The retry, in a UI
    started on another folder with the packaged plan, tells A and links v001's report
    (a red team's retry told B, linking v002's report, which crossed nothing). With the
    output folder moved and the UI started on its new place, the same. With the folder
    gone, it finds no one: the tag says GAVE UP, and no more rounds are tried (the red
    team's sensor said "retried" every minute, sending nothing)."""
    from types import SimpleNamespace

    from trial_outcomes.pipelines import sensors
    from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG

    out = tmp_path / "out"
    versions = out / ".versions" / CUT
    for version, hook in (("v001", "http://127.0.0.1:9/a"), ("v002", "http://127.0.0.1:9/b")):
        (versions / version).mkdir(parents=True)
        plan_with_notify(versions / version / "analysis_plan.toml", hook)
        (versions / version / "report.pdf").write_bytes(b"%PDF " + version.encode())
    (out / CUT).symlink_to(Path(".versions") / CUT / "v002")
    failed = "webhook: FAILED (HTTPError: 500); round 1 of 10: will retry"
    tags = {
        "dagster/partition": CUT,
        STOPPING_TAG: "BOUNDARY CROSSED: safety",
        ANNOUNCED_TAG: failed,
        OUT_FOLDER_TAG: str(out.resolve()),
        PUBLISHED_FOLDER_TAG: str((versions / "v001").resolve()),
    }
    run = SimpleNamespace(run_id="r1", tags=tags, run_config={}, parent_run_id=None)
    tagged: dict[str, str] = {}
    instance = SimpleNamespace(
        add_run_tags=lambda _id, t: tagged.update(t), get_runs=lambda **_: [run], get_run_by_id=lambda _id: run
    )
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(
        sensors, "announce", lambda notify, alert, channels: told.append((notify.webhook_url, alert.report)) or []
    )
    ui = DropSettings(out_dir=str(tmp_path / "the-uis-out"))

    def retry(settings: DropSettings) -> None:
        told.clear()
        tagged.clear()
        sensors.announce_run(instance, run, *sensors.drop_alert_target(settings)(run))  # type: ignore[arg-type]

    retry(ui)
    assert told == [("http://127.0.0.1:9/a", str(versions.resolve() / "v001" / "report.pdf"))]
    moved = tmp_path / "moved"
    out.rename(moved)
    retry(DropSettings(out_dir=str(moved)))
    assert told == [("http://127.0.0.1:9/a", str(moved.resolve() / ".versions" / CUT / "v001" / "report.pdf"))]
    retry(ui)
    assert told == [] and tagged[ANNOUNCED_TAG].startswith("webhook: FAILED (HTTPError: 500); GAVE UP: the plan")
    assert not sensors.alert_pending(
        {**tags, **tagged}, __import__("datetime").datetime.now(__import__("datetime").UTC)
    )


def test_a_cut_published_by_a_run_that_never_succeeded_is_announced_once_its_process_is_quiet(tmp_path, monkeypatch):
    """A red team killed ``portfolio run`` once its publishing step had started: the worker
    published the cut, whose safety boundary was crossed, and the run stayed STARTED, so
    no sensor (they read successful runs) and no process told anyone. The retry sensor
    now announces such a run (STARTED, FAILURE or CANCELED, with the published folder's
    tag) once nothing has changed it for ``STALE_SENDING`` (ten minutes): not at once,
    which leaves a live process the time to announce it itself; once; never a run that
    crossed a boundary but published nothing (killed before publishing), nor a re-execution
    carrying its parent's folder (a reviewer's: the UI's re-execution copies every tag)."""
    from trial_outcomes.pipelines import sensors
    from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
    from trial_outcomes.pipelines.definitions import ALL_JOB

    out = tmp_path / "out"
    version = out / ".versions" / CUT / "v001"
    version.mkdir(parents=True)
    plan_with_notify(version / "analysis_plan.toml", "http://127.0.0.1:9/board")
    (version / "report.pdf").write_bytes(b"%PDF v001")
    (out / CUT).symlink_to(Path(".versions") / CUT / "v001")
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(
        sensors,
        "announce",
        lambda notify, alert, channels: told.append((notify.webhook_url, alert.cut)) or [f"{channels[0]}: sent"],
    )
    defs = build_definitions(DropSettings(out_dir=str(tmp_path / "the-uis-out")))
    retry = defs.resolve_sensor_def("stopping_boundary_alert_retry")
    crossed = {"dagster/partition": CUT, STOPPING_TAG: "BOUNDARY CROSSED: safety", OUT_FOLDER_TAG: str(out.resolve())}
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def(ALL_JOB)
        published = {**crossed, PUBLISHED_FOLDER_TAG: str(version.resolve())}
        killed = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED, tags=published)
        failed = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE, tags=published)
        unpublished = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE, tags=crossed)
        # a re-execution of ``failed`` from the UI carries its tags, the folder too: the parent owes the alert
        again = instance.create_run_for_job(
            job,
            status=dg.DagsterRunStatus.FAILURE,
            tags=published,
            parent_run_id=failed.run_id,
            root_run_id=failed.run_id,
        )

        def tick() -> str:
            with dg.build_sensor_context(instance=instance, definitions=defs) as context:
                return retry(context).skip_message

        assert tick() == "no alert owed" and told == []  # changed just now: its process may announce it
        monkeypatch.setattr(sensors, "STALE_SENDING", dt.timedelta(0))
        assert tick() == "2 alert(s) owed, 1 delivered"
        # one version, one alert: the two runs that published v001 (one of them no new version)
        assert told == [("http://127.0.0.1:9/board", CUT)]
        states = sorted(instance.get_run_by_id(run.run_id).tags[ANNOUNCED_TAG] for run in (killed, failed))
        assert states[0].startswith("not sent: this version's alert is run") and states[1] == "webhook: sent"
        assert ANNOUNCED_TAG not in instance.get_run_by_id(unpublished.run_id).tags
        assert ANNOUNCED_TAG not in instance.get_run_by_id(again.run_id).tags  # one publication, told once
        assert tick() == "no alert owed" and len(told) == 1  # once


def test_a_re_execution_from_the_ui_owes_the_alert_of_what_it_published_not_its_parents(tmp_path, monkeypatch):
    """The UI's re-execution copies every tag of its parent, its alert state too. A reviewer's
    case: the parent's crossed cut was announced ("webhook: sent"); its re-execution published
    a new version (v002) of the crossed cut and, carrying "sent", was never announced. The
    alert state names the run it belongs to (``trial/boundary_announced_by``), so a state
    carried from the parent is not the child's: v002 is announced, once. A re-execution that
    published the parent's own version owes nothing, even when the parent's delivery FAILED
    (the parent's alert is retried; the child announced too before), and a re-execution whose
    own stopping rules were not crossed (its tag written over: "not crossed") tells no one.
    One version, one alert: a second run that published the same outputs again (the same
    folder) sends nothing, and says whose alert it is; if that run then gives up, the
    second announces it (a version is never left unannounced by a run that stood aside)."""
    from trial_outcomes.pipelines import sensors
    from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
    from trial_outcomes.pipelines.definitions import ALL_JOB

    out = tmp_path / "out"
    versions = {}
    for name in ("v001", "v002", "v003"):
        versions[name] = out / ".versions" / CUT / name
        versions[name].mkdir(parents=True)
        plan_with_notify(versions[name] / "analysis_plan.toml", "http://127.0.0.1:9/board")
        (versions[name] / "report.pdf").write_bytes(f"%PDF {name}".encode())
    (out / CUT).symlink_to(Path(".versions") / CUT / "v002")
    told: list[str] = []
    delivered = {"ok": True}

    def deliver(notify, alert, channels):
        told.append(alert.report)
        return [f"{c}: sent" if delivered["ok"] else f"{c}: FAILED (down)" for c in channels]

    monkeypatch.setattr(sensors, "announce", deliver)
    defs = build_definitions(DropSettings(out_dir=str(tmp_path / "the-uis-out")))
    status_sensor = defs.resolve_sensor_def("stopping_boundary_alert")
    retry = defs.resolve_sensor_def("stopping_boundary_alert_retry")
    crossed = {"dagster/partition": CUT, STOPPING_TAG: "BOUNDARY CROSSED: safety", OUT_FOLDER_TAG: str(out.resolve())}
    v001 = {**crossed, PUBLISHED_FOLDER_TAG: str(versions["v001"].resolve())}
    success = dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=ALL_JOB)
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def(ALL_JOB)

        def reexecute(parent: dg.DagsterRun, **tags: str) -> dg.DagsterRun:
            copied = {**instance.get_run_by_id(parent.run_id).tags, **tags}  # as the UI does: every tag
            return instance.create_run_for_job(
                job,
                status=dg.DagsterRunStatus.SUCCESS,
                tags=copied,
                parent_run_id=parent.run_id,
                root_run_id=parent.run_id,
            )

        def on_success(run: dg.DagsterRun) -> str:
            with dg.build_run_status_sensor_context(
                sensor_name=status_sensor.name,
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(run.run_id),
                dagster_event=success,
            ) as context:
                return str(status_sensor(context) or "announced")

        def tick() -> str:
            with dg.build_sensor_context(instance=instance, definitions=defs) as context:
                return retry(context).skip_message

        parent = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v001)
        assert on_success(parent) == "announced" and told == [str(versions["v001"].resolve() / "report.pdf")]
        state = instance.get_run_by_id(parent.run_id).tags
        assert state[ANNOUNCED_TAG] == "webhook: sent" and state[sensors.ALERT_OWNER_TAG] == parent.run_id

        newer = reexecute(parent, **{PUBLISHED_FOLDER_TAG: str(versions["v002"].resolve())})
        assert instance.get_run_by_id(newer.run_id).tags[ANNOUNCED_TAG] == "webhook: sent"  # the parent's, carried
        assert on_success(newer) == "announced"
        assert told[1:] == [str(out.resolve() / CUT / "report.pdf")]  # the cut shows v002: its link
        state = instance.get_run_by_id(newer.run_id).tags
        assert state[ANNOUNCED_TAG] == "webhook: sent" and state[sensors.ALERT_OWNER_TAG] == newer.run_id
        assert "announced already" in on_success(newer) and len(told) == 2  # once
        assert tick() == "no alert owed"

        delivered["ok"] = False
        v003 = {**crossed, PUBLISHED_FOLDER_TAG: str(versions["v003"].resolve())}
        failing = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v003)
        assert on_success(failing) == "announced" and len(told) == 3
        assert "will retry" in instance.get_run_by_id(failing.run_id).tags[ANNOUNCED_TAG]
        same = reexecute(failing)  # published no new version: v003 again, the parent's folder
        assert on_success(same) == "announced" and len(told) == 3  # looked at, and nothing sent
        assert instance.get_run_by_id(same.run_id).tags[ANNOUNCED_TAG] == (
            f"not sent: this version's alert is run {failing.run_id[:8]}'s"
        )
        delivered["ok"] = True
        assert tick() == "1 alert(s) owed, 1 delivered" and len(told) == 4
        assert instance.get_run_by_id(failing.run_id).tags[ANNOUNCED_TAG] == "webhook: sent"
        assert tick() == "no alert owed" and len(told) == 4

        calmer = reexecute(
            parent, **{STOPPING_TAG: "not crossed (this run's own stopping rules)", PUBLISHED_FOLDER_TAG: "/elsewhere"}
        )
        assert "no boundary crossed" in on_success(calmer) and len(told) == 4
        assert tick() == "no alert owed"

        again = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v001)  # no new version
        assert on_success(again) == "announced" and len(told) == 4
        assert instance.get_run_by_id(again.run_id).tags[ANNOUNCED_TAG].startswith("not sent: this version's alert")
        assert tick() == "no alert owed" and len(told) == 4

        # the run a second publisher stood aside for gives up: the version is the second's to announce
        delivered["ok"] = False
        v002 = {**crossed, PUBLISHED_FOLDER_TAG: str(versions["v002"].resolve())}
        first = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v002)
        second = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v002)
        instance.add_run_tags(newer.run_id, {ANNOUNCED_TAG: "webhook: FAILED (old); GAVE UP after 10 rounds"})
        assert on_success(first) == "announced" and on_success(second) == "announced" and len(told) == 5
        assert instance.get_run_by_id(second.run_id).tags[ANNOUNCED_TAG] == (
            f"not sent: this version's alert is run {first.run_id[:8]}'s"
        )
        instance.add_run_tags(first.run_id, {ANNOUNCED_TAG: "webhook: FAILED (down); GAVE UP after 10 rounds"})
        delivered["ok"] = True
        assert tick() == "1 alert(s) owed, 1 delivered" and len(told) == 6
        assert instance.get_run_by_id(second.run_id).tags[ANNOUNCED_TAG] == "webhook: sent"
        assert tick() == "no alert owed" and len(told) == 6


@pytest.mark.slow  # a whole run (20 s)
def test_a_re_execution_whose_own_rules_are_not_crossed_says_so_over_its_parents_crossing(tmp_path):
    """A re-execution from the UI carries its parent's ``trial/stopping_boundary`` (tags can be
    written over, never removed). The sample drop crosses no rule: its run, launched carrying a
    parent's crossing, writes "not crossed" and its own result over it, so no alert claims a
    crossing it did not make (the plan may have changed between the two runs). The sample
    drop at its default cut crosses neither rule (its report's page 1 says so)."""
    from tests.helpers import ROOT
    from trial_outcomes.assets.shared import DATA_CUT_PARTITIONS, RESULT_TAG, boundary_crossed
    from trial_outcomes.pipelines.definitions import ALL_JOB
    from trial_outcomes.pipelines.runner import default_cut
    from trial_outcomes.pipelines.sensors import stopping_result

    sample = ROOT / "data" / "sample"
    cut = default_cut(sample).isoformat()
    defs = build_definitions(DropSettings(data_dir=str(sample), out_dir=str(tmp_path / "out")))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, [cut])
        carried = {STOPPING_TAG: "BOUNDARY CROSSED: safety", RESULT_TAG: "{}", ANNOUNCED_TAG: "webhook: sent"}
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, partition_key=cut, tags=carried, raise_on_error=False
        )
        assert result.success
        tags = instance.get_run_by_id(result.run_id).tags
    assert tags[STOPPING_TAG].startswith("not crossed") and not boundary_crossed(tags)
    verdict = stopping_result(dict(tags))
    assert verdict is not None and not verdict.crossed and verdict.statuses


def test_a_versions_alert_is_never_lost_between_its_runs_nor_sent_twice_on_a_channel(tmp_path, monkeypatch):
    """A reviewer's sequences, each with the runs that published one version (v001):
    - a run failed after publishing (no alert yet: its process is given ten minutes); its
      re-execution from the UI, which did not publish again (its folder is the parent's),
      succeeded and announced the version, and the webhook was down: the retry sensor retries
      the re-execution (it used to pass over it for carrying its parent's folder, while the
      parent stood aside for it: no one was ever told), and the parent stays aside;
    - a run sent the webhook and gave up on the e-mail: a second run of the version sends the
      e-mail alone (it sent both);
    - two runs of the version each sent one channel and failed the other, at one tick: the
      one that stands aside keeps what it sent in its state, and no channel goes twice (a
      second reviewer's: standing aside erased "e-mail: sent", and the other sent it again);
    - a process that died while sending ("sending since", ten minutes stale) had sent the
      webhook in an earlier round: the retry sends the e-mail alone;
    - a plan that names no one is said once, in the run's tags, not every minute; but not
      when the plan the run published is not found (looked for again at the next tick);
    - an alert state from before owners were named stays its run's own (a third reviewer's:
      reading a re-execution's as its parent's sent old alerts again at the upgrade), until a
      re-execution publishes a version of its own (``carried_alert``)."""
    from trial_outcomes.assets.shared import ALERT_OWNER_TAG, carried_alert
    from trial_outcomes.pipelines import sensors
    from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
    from trial_outcomes.pipelines.definitions import ALL_JOB

    out = tmp_path / "out"
    version = out / ".versions" / CUT / "v001"
    version.mkdir(parents=True)
    plan_with_notify(version / "analysis_plan.toml", "http://127.0.0.1:9/board", smtp_port=9)
    (version / "report.pdf").write_bytes(b"%PDF v001")
    (out / CUT).symlink_to(Path(".versions") / CUT / "v001")
    sent: list[tuple[str, str]] = []
    up = {"webhook": False, "e-mail": True}

    def deliver(notify, alert, channels):
        sent.extend((alert.run_id, c) for c in channels if up[c])
        return [f"{c}: sent" if up[c] else f"{c}: FAILED (down)" for c in channels]

    monkeypatch.setattr(sensors, "announce", deliver)
    defs = build_definitions(DropSettings(out_dir=str(tmp_path / "the-uis-out")))
    retry = defs.resolve_sensor_def("stopping_boundary_alert_retry")
    v001 = {
        "dagster/partition": CUT,
        STOPPING_TAG: "BOUNDARY CROSSED: safety",
        OUT_FOLDER_TAG: str(out.resolve()),
        PUBLISHED_FOLDER_TAG: str(version.resolve()),
    }
    success = dg.DagsterRunStatus.SUCCESS
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def(ALL_JOB)

        def tick() -> str:
            with dg.build_sensor_context(instance=instance, definitions=defs) as context:
                return retry(context).skip_message

        parent = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE, tags=v001)
        child = instance.create_run_for_job(
            job,
            status=dg.DagsterRunStatus.SUCCESS,
            tags=v001,
            parent_run_id=parent.run_id,
            root_run_id=parent.run_id,
        )
        target = sensors.drop_alert_target(DropSettings(out_dir=str(tmp_path / "the-uis-out")))
        lines = sensors.announce_run(instance, instance.get_run_by_id(child.run_id), *target(child))
        assert lines[0].endswith("webhook: FAILED (down)") and sent == [(child.run_id, "e-mail")]
        up["webhook"] = True
        assert tick() == "1 alert(s) owed, 1 delivered"  # the parent is not owed yet (ten quiet minutes)
        assert sent[1:] == [(child.run_id, "webhook")]
        monkeypatch.setattr(sensors, "STALE_SENDING", dt.timedelta(0))
        assert tick() == "1 alert(s) owed, 0 delivered"  # the parent, now owed: the child told everyone
        assert instance.get_run_by_id(parent.run_id).tags[ANNOUNCED_TAG].startswith("not sent: this version's")
        assert tick() == "no alert owed" and len(sent) == 2

        # the webhook sent, the e-mail given up: a run published the version again later
        instance.add_run_tags(
            child.run_id, {ANNOUNCED_TAG: "webhook: sent; e-mail: FAILED (x); GAVE UP after 10 rounds"}
        )
        again = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=v001)
        lines = sensors.announce_run(instance, instance.get_run_by_id(again.run_id), *target(again))
        assert lines == [f"[DSMB] Stopping boundary crossed at data cut {CUT}: e-mail: sent"]
        assert sent[2:] == [(again.run_id, "e-mail")]
        # the parent, which stood aside for the child, does not take the version back: it is told
        assert tick() == "no alert owed" and len(sent) == 3

        def version_run(name: str, state: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
            folder = out / ".versions" / CUT / name
            folder.mkdir(exist_ok=True)
            plan_with_notify(folder / "analysis_plan.toml", "http://127.0.0.1:9/board", smtp_port=9)
            run = instance.create_run_for_job(
                job, status=status, tags={**v001, PUBLISHED_FOLDER_TAG: str(folder.resolve())}
            )
            instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: state, ALERT_OWNER_TAG: run.run_id})
            return run

        # two runs of v002, each half sent, retried at one tick: each channel once
        up["webhook"] = True
        half = version_run("v002", "webhook: sent; e-mail: FAILED (x); round 1 of 10: will retry", success)
        other_half = version_run("v002", "e-mail: sent; webhook: FAILED (x); round 1 of 10: will retry", success)
        assert tick() == "2 alert(s) owed, 0 delivered" and len(sent) == 3  # nothing was left to send
        states = {run.run_id: instance.get_run_by_id(run.run_id).tags[ANNOUNCED_TAG] for run in (half, other_half)}
        assert states[other_half.run_id] == f"not sent: this version's alert is run {half.run_id[:8]}'s; e-mail: sent"
        assert states[half.run_id] == "webhook: sent"
        assert tick() == "no alert owed" and len(sent) == 3

        # a process dies while sending round 2, having sent the webhook in round 1: the e-mail alone
        died = version_run("v003", "webhook: sent; e-mail: FAILED (x); round 1 of 10: will retry", success)

        def dying(notify, alert, channels):
            raise KeyboardInterrupt  # the process is killed mid-send

        monkeypatch.setattr(sensors, "announce", dying)
        with pytest.raises(KeyboardInterrupt):
            sensors.announce_run(instance, instance.get_run_by_id(died.run_id), *target(died))
        state = instance.get_run_by_id(died.run_id).tags[ANNOUNCED_TAG]
        assert state.startswith("sending since ") and state.endswith("; webhook: sent")  # what it had sent, kept
        monkeypatch.setattr(sensors, "announce", deliver)
        assert tick() == "1 alert(s) owed, 1 delivered" and sent[3:] == [(died.run_id, "e-mail")]
        assert instance.get_run_by_id(died.run_id).tags[ANNOUNCED_TAG] == "webhook: sent; e-mail: sent"

        # a plan that names no one: said once
        elsewhere = tmp_path / "elsewhere" / ".versions" / CUT / "v001"
        elsewhere.mkdir(parents=True)
        moved = {**v001, PUBLISHED_FOLDER_TAG: str(elsewhere / "gone"), OUT_FOLDER_TAG: str(elsewhere.parents[2])}
        lost = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE, tags=moved)  # its plan: not found
        assert (
            tick() == "1 alert(s) owed, 0 delivered" and ANNOUNCED_TAG not in instance.get_run_by_id(lost.run_id).tags
        )
        assert tick() == "1 alert(s) owed, 0 delivered"  # looked for again
        instance.add_run_tags(lost.run_id, {STOPPING_TAG: "not crossed (this run's own stopping rules)"})
        plan_with_notify(elsewhere / "analysis_plan.toml", "")  # the packaged plan: [notify] empty
        quiet = {**v001, PUBLISHED_FOLDER_TAG: str(elsewhere.resolve()), OUT_FOLDER_TAG: str(elsewhere.parents[2])}
        nobody = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE, tags=quiet)
        assert tick() == "1 alert(s) owed, 0 delivered"
        assert (
            instance.get_run_by_id(nobody.run_id).tags[ANNOUNCED_TAG] == "no one to tell: the plan's [notify] is empty"
        )
        assert tick() == "no alert owed"

        # states from before owners were named are their runs' own (no alert of an old run is sent
        # again, or dropped, by the upgrade) ...
        legacy = instance.create_run_for_job(job, status=success, tags={**v001, ANNOUNCED_TAG: "webhook: sent"})
        copied = instance.create_run_for_job(
            job,
            status=success,
            tags=dict(legacy.tags),
            parent_run_id=legacy.run_id,
            root_run_id=legacy.run_id,
        )
        assert sensors.alert_state(legacy)[ANNOUNCED_TAG] == "webhook: sent"
        assert sensors.alert_state(copied)[ANNOUNCED_TAG] == "webhook: sent"

    # ... until a re-execution publishes a version of its own: then what it carries is its parent's
    v2 = str(version.parent / "v002")
    carried = {ANNOUNCED_TAG: "webhook: sent", PUBLISHED_FOLDER_TAG: str(version.resolve())}
    assert carried_alert(carried, "p", v2) == {ALERT_OWNER_TAG: "p"}  # a new version: the state is the parent's
    assert carried_alert({**carried, ALERT_OWNER_TAG: "c"}, "p", v2) == {ALERT_OWNER_TAG: "p"}  # sent while it ran
    assert carried_alert(carried, "p", str(version.resolve())) == {}  # the parent's version again: as it stands
    assert carried_alert(carried, None, v2) == {}  # not a re-execution: its own
    assert carried_alert({PUBLISHED_FOLDER_TAG: v2}, "p", v2) == {}  # nothing carried


def test_two_processes_at_one_instant_tell_the_board_once(tmp_path, monkeypatch):
    """The race an earlier note left open: the CLI right after its run and a sensor (the same
    run), or two runs of one version at one tick, each read the version's alert unclaimed
    before either wrote "sending since", and both sent. Here each process is a thread, and
    each pauses half a second after reading who announced the version (where a loaded machine
    pauses): without the cut's alert lock both send; with it one sends, and the
    other finds the first's state: the same run says nothing, the other run stands aside."""
    import threading
    import time

    from trial_outcomes.pipelines import sensors
    from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
    from trial_outcomes.pipelines.definitions import ALL_JOB

    out = tmp_path / "out"
    version = out / ".versions" / CUT / "v001"
    version.mkdir(parents=True)
    (version / "report.pdf").write_bytes(b"%PDF v001")
    (out / CUT).symlink_to(Path(".versions") / CUT / "v001")
    posts: list[str] = []
    monkeypatch.setattr(
        sensors, "announce", lambda notify, alert, channels: posts.append(alert.run_id) or ["webhook: sent"]
    )
    read = sensors._same_version

    def slow_read(instance, run):
        others = read(instance, run)
        time.sleep(0.5)
        return others

    monkeypatch.setattr(sensors, "_same_version", slow_read)
    notify = Notify(webhook_url="http://127.0.0.1:9/board")
    tags = {
        "dagster/partition": CUT,
        STOPPING_TAG: "BOUNDARY CROSSED: safety",
        OUT_FOLDER_TAG: str(out.resolve()),
        PUBLISHED_FOLDER_TAG: str(version.resolve()),
    }
    defs = build_definitions(DropSettings(out_dir=str(out)))
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def(ALL_JOB)
        first, second = (
            instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=tags) for _ in range(2)
        )
        said: dict[str, list[str]] = {}

        def race(*runs: dg.DagsterRun) -> None:
            threads = [
                threading.Thread(
                    target=lambda i=i, r=r: said.__setitem__(f"{i}", sensors.announce_run(instance, r, notify, out))
                )
                for i, r in enumerate(runs)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

        race(first, first)  # the CLI and the boundary sensor, one run
        assert posts == [first.run_id]
        assert sorted(len(lines) for lines in said.values()) == [0, 1]  # the second found it announced
        assert instance.get_run_by_id(first.run_id).tags[ANNOUNCED_TAG] == "webhook: sent"

        instance.add_run_tags(first.run_id, {ANNOUNCED_TAG: "webhook: FAILED (x); GAVE UP after 10 rounds"})
        third = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS, tags=tags)
        posts.clear()
        race(second, third)  # two runs of the version, at one tick
        assert len(posts) == 1
        states = sorted(instance.get_run_by_id(r.run_id).tags[ANNOUNCED_TAG] for r in (second, third))
        assert states[0].startswith("not sent: this version's alert is run") and states[1] == "webhook: sent"

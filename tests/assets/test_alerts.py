"""A crossed stopping boundary is unmissable: the check says so in its own words, the
run is tagged, and the boundary sensor tells the people the plan names, by webhook
(Slack, Teams or plain JSON) and by e-mail. The servers run on 127.0.0.1 for the
test only and stop by themselves."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.helpers import materialize_cut
from trial_outcomes.assets.shared import STOPPING_TAG, DropSettings
from trial_outcomes.pipelines.definitions import build_definitions
from trial_outcomes.pipelines.notify import Alert, announce, webhook_payload
from trial_outcomes.plan import DEFAULT_PLAN, Notify

CUT = "2023-12-31"


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    _Webhook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Webhook.received
    server.shutdown()
    server.server_close()


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


@pytest.fixture(scope="module")
def toxic_drop(small_drop_master, tmp_path_factory) -> Path:
    """Every reported CRS becomes grade 4: far above the 20 % threshold."""
    drop = tmp_path_factory.mktemp("toxic")
    shutil.copytree(small_drop_master, drop, dirs_exist_ok=True)
    ae = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    crs = pl.col("term") == "Cytokine release syndrome"
    ae.with_columns(pl.when(crs & (pl.col("grade") != "5")).then(pl.lit("4")).otherwise(pl.col("grade")).alias("grade")
                    ).write_csv(drop / "adverse_events.csv")
    return drop


def _plan_with_notify(tmp_path: Path, webhook_url: str, smtp_port: int) -> Path:
    text = DEFAULT_PLAN.read_text()
    text = text.replace('webhook_url = ""', f'webhook_url = "{webhook_url}"').replace(
        'smtp_host = ""', 'smtp_host = "127.0.0.1"').replace("smtp_port = 25", f"smtp_port = {smtp_port}").replace(
        'smtp_from = ""', 'smtp_from = "pipeline@trial.example"').replace(
        "smtp_to = []", 'smtp_to = ["dsmb-statistician@trial.example"]')
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_a_crossed_boundary_is_in_the_check_the_run_tags_and_the_alerts(toxic_drop, tmp_path, webhook, smtp_server):
    url, posts = webhook
    port, mails = smtp_server
    plan = _plan_with_notify(tmp_path, url, port)
    out = tmp_path / "out"
    with dg.instance_for_test() as instance:
        result, cut = materialize_cut(toxic_drop, out, CUT, instance=instance, plan=str(plan))
        assert result.success  # non-blocking: the report still comes out
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        safety = checks["safety_boundary"]
        assert not safety.passed and safety.severity == dg.AssetCheckSeverity.WARN
        assert safety.description.startswith(f"BOUNDARY CROSSED at cut {CUT}: ")
        assert checks["efficacy_futility_boundary"].description.startswith("Not crossed")
        run = instance.get_run_by_id(result.run_id)
        assert run.tags[STOPPING_TAG] == "CROSSED safety"

        defs = build_definitions(DropSettings(data_dir=str(toxic_drop), out_dir=str(out), plan=str(plan)))
        sensor = defs.resolve_sensor_def("stopping_boundary_alert")
        success = result.get_run_success_event()
        with dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_instance=instance,
                                                dagster_run=run, dagster_event=success,
                                                resources={"settings": defs.resources["settings"]}) as context:
            sensor(context)
    assert len(posts) == 1 and posts[0]["text"].startswith(f"*[DSMB] Stopping boundary crossed at data cut {CUT}*")
    assert "- Safety (Bayesian beta-binomial): BOUNDARY CROSSED" in posts[0]["text"]
    assert str(out.resolve() / CUT / "report.pdf") in posts[0]["text"]
    assert len(mails) == 1 and mails[0]["To"] == "dsmb-statistician@trial.example"
    body = mails[0].get_payload(decode=True).decode()
    assert "Safety (Bayesian beta-binomial): BOUNDARY CROSSED" in body


def test_webhook_payloads_for_slack_teams_and_plain_json():
    alert = Alert("2024-03-31", "abcdef123456", ["BOUNDARY CROSSED at cut 2024-03-31: 6 of 10 ..."], "/r/report.pdf")
    assert webhook_payload(alert, "slack")["text"].startswith("*[DSMB] Stopping boundary crossed")
    card = webhook_payload(alert, "teams")["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == alert.subject
    plain = webhook_payload(alert, "generic")
    assert (plain["event"], plain["data_cut"], plain["report"]) == ("stopping_boundary_crossed", "2024-03-31",
                                                                   "/r/report.pdf")


def test_one_channel_failing_does_not_stop_the_other(webhook):
    """A webhook on a closed port fails (said so); the e-mail channel is still tried."""
    url, posts = webhook
    notify = Notify(webhook_url="http://127.0.0.1:9/none", smtp_host="127.0.0.1", smtp_port=9,
                    smtp_from="a@b.c", smtp_to=("d@e.f",), timeout_seconds=2)
    done = announce(notify, Alert("2024-03-31", "abc", ["x"]))
    assert [line.split(":")[0] for line in done] == ["webhook", "e-mail"]
    assert all("FAILED" in line for line in done)
    ok = announce(Notify(webhook_url=url), Alert("2024-03-31", "abc", ["x"]))
    assert ok == ["webhook: sent"] and len(posts) == 1

"""deploy/ kept in step with the code and the tested celery setup
(tests/e2e/test_celery_portfolio.py): the same code location module, the same worker
command, the same celery settings, the same storage and shared volume."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from trial_outcomes.cli import build_parser, celery_worker_command, cmd_portfolio_worker
from trial_outcomes.pipelines.portfolio import CELERY_CONFIG_SOURCE, PORTFOLIO_ENV
from trial_outcomes.portfolio import load_portfolio

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PYPROJECT = (DEPLOY.parent / "pyproject.toml").read_text()
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
MANIFESTS = list(yaml.safe_load_all((DEPLOY / "k8s" / "celery-workers.yaml").read_text()))
PORTFOLIO_PATH = "/data/portfolio.toml"


def _env(items: list[dict[str, str]]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in items}


def test_the_chart_loads_the_portfolio_module_from_the_shared_volume() -> None:
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "trial_outcomes.pipelines.portfolio_location"]
    assert _env(deployment["env"])[PORTFOLIO_ENV] == PORTFOLIO_PATH
    assert _env(VALUES["dagsterWebserver"]["env"])[PORTFOLIO_ENV] == PORTFOLIO_PATH
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    assert f"{PORTFOLIO_ENV}={PORTFOLIO_PATH}" in launcher["envVars"]
    for mounts in (deployment["volumeMounts"], launcher["volumeMounts"], VALUES["dagsterWebserver"]["volumeMounts"]):
        assert {"name": "trial-data", "mountPath": "/data"} in mounts
    assert VALUES["postgresql"]["enabled"] is False and VALUES["postgresql"]["postgresqlHost"]
    assert VALUES["rabbitmq"]["enabled"] is True


def test_the_chart_version_is_the_pinned_dagster() -> None:
    pinned = re.search(r'"dagster==([0-9.]+)"', PYPROJECT)
    assert pinned is not None
    assert f"--version {pinned.group(1)}" in (DEPLOY / "README.md").read_text()


def test_the_workers_run_the_tested_command() -> None:
    deployment = next(m for m in MANIFESTS if m["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[0] == "trial-outcomes"
    args = build_parser().parse_args(command[1:])
    assert args.func is cmd_portfolio_worker and args.portfolio == PORTFOLIO_PATH and args.concurrency == 1
    claim = next(m for m in MANIFESTS if m["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {"name": "trial-data", "mountPath": "/data"} in container["volumeMounts"]
    assert _env(container["env"])[PORTFOLIO_ENV] == PORTFOLIO_PATH


def test_the_cluster_portfolio_uses_the_chart_broker_and_the_tested_settings(tmp_path: Path) -> None:
    portfolio = load_portfolio(DEPLOY / "k8s" / "portfolio.toml")
    assert portfolio.execution.executor == "celery"
    assert "@dagster-rabbitmq:5672" in portfolio.execution.broker
    assert portfolio.execution.backend == "rpc://"
    command, env = celery_worker_command(portfolio, "w1", 1, tmp_path)
    config = (tmp_path / "dagster_celery_config.py").read_text()
    for key, value in CELERY_CONFIG_SOURCE.items():
        assert f"{key} = {value!r}" in config
    assert f"task_default_queue = {portfolio.execution.queue!r}" in config
    assert "--prefetch-multiplier=1" in command and command[command.index("-Q") + 1] == portfolio.execution.queue
    assert str(tmp_path) in env["PYTHONPATH"].split(os.pathsep)
    assert env[PORTFOLIO_ENV] == str(portfolio.path)  # a run launched from the UI names the code location

"""Dagster's celery executor, with two fixes: a step whose worker process died, and
a step's failure that lost its cause.

``dagster_celery`` reads a step's events from its task's result. When the worker
process running the step is killed (the kernel's OOM killer, a node lost), the task
fails with celery's ``WorkerLostError`` and no event of the step ever arrives;
dagster-celery 0.29 then stops submitting steps but keeps waiting for the steps it
will never submit, and the run hangs as STARTED with its cut's lease held (seen
here: tests/e2e/test_celery_portfolio.py). This executor reports such a step as
failed, with the worker's error, from the run's own process: the steps that depend
on it are skipped, the run fails, nothing is published, and the lease is free for a
re-execution. A step whose resources failed on the worker carries the cause the worker
recorded in the instance (celery's task error drops the chain: a second run of a cut
said only "Error executing resource_fn", not which run was writing the cut).
Everything else is dagster-celery's own code.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import dagster as dg
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.events import DagsterEvent, StepFailureData
from dagster._core.execution.retries import RetryMode
from dagster._serdes import serialize_value
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CeleryExecutor, _submit_task, celery_executor

from trial_outcomes.pipelines.instance import resource_failure

#: how often a running step's worker is pinged, and how many missed pings make it lost
PING_EVERY_SECONDS = 20.0
MISSED_PINGS = 3


class _StepResult:
    """A submitted step's celery result whose ``get`` turns a lost worker into the step's
    failure: a task that failed without the step's events (the worker's pool process
    killed: ``WorkerLostError``; a resource that raised), or a started task whose worker
    stopped answering pings (the whole worker killed: no result would ever come)."""

    def __init__(self, result: Any, plan_context: Any, step: Any, app: Any):
        self._result = result
        self._plan_context = plan_context
        self._step = step
        self._app = app
        self._next_ping = time.monotonic() + PING_EVERY_SECONDS
        self._missed = 0
        self._lost: str | None = None

    def ready(self) -> bool:
        if self._lost is not None or self._result.ready():
            return True
        if time.monotonic() >= self._next_ping:
            self._next_ping = time.monotonic() + PING_EVERY_SECONDS
            self._check_worker()
        return self._lost is not None

    def _check_worker(self) -> None:
        """Ping the worker running the step (known once the task started)."""
        if self._result.state != "STARTED" or not isinstance(self._result.info, dict):
            return
        worker = self._result.info.get("hostname")
        if not worker:
            return
        answers = self._app.control.ping(destination=[worker], timeout=2.0)
        self._missed = 0 if answers else self._missed + 1
        if self._missed >= MISSED_PINGS:
            self._lost = f"its celery worker {worker} stopped answering ({MISSED_PINGS} pings missed)"

    def revoke(self) -> None:
        self._result.revoke()

    def get(self) -> list[str]:
        from celery.exceptions import TaskRevokedError

        if self._lost is not None:
            return [self._failure(self._lost, None)]
        try:
            events: list[str] = self._result.get()
            return events
        except TaskRevokedError:
            raise
        except Exception as exc:
            error = serializable_error_info_from_exc_info(sys.exc_info())
            lost = type(exc).__name__ == "WorkerLostError"
            why = "its celery worker process was lost" if lost else "its celery task failed"
            # celery sends the task's last exception alone, its cause dropped (a red team's second
            # run of a cut said "Error executing resource_fn on ResourceDefinition output_store",
            # not which run was writing the cut); the worker recorded the cause in the instance
            try:
                run_id = self._plan_context.dagster_run.run_id
                cause = resource_failure(self._plan_context.instance, run_id, self._step.key)
            except Exception:  # the instance unreadable: the failure is still the step's, as before
                cause = ""
            if cause and cause not in error.message:
                return [self._failure(f"{why} ({error.message.strip()}; cause: {cause})", None)]
            return [self._failure(f"{why} ({error.message.strip()})", error)]

    def _failure(self, why: str, error: Any) -> str:
        if error is None:
            try:
                raise RuntimeError(why)
            except RuntimeError:
                error = serializable_error_info_from_exc_info(sys.exc_info())
        failure = DagsterEvent.step_failure_event(
            step_context=self._plan_context.for_step(self._step),
            step_failure_data=StepFailureData(error=error, user_failure_data=None),
            message=f'step "{self._step.key}" failed: {why}',
        )
        return str(serialize_value(failure))


def _submit(app: Any, plan_context: Any, step: Any, queue: str, priority: int, known_state: Any) -> _StepResult:
    return _StepResult(_submit_task(app, plan_context, step, queue, priority, known_state), plan_context, step, app)


class TrialCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=_submit)


@dg.executor(
    name="celery",
    config_schema=celery_executor.config_schema.as_field(),
    requirements=multiple_process_executor_requirements(),
)
def trial_celery_executor(init_context: dg.InitExecutorContext) -> TrialCeleryExecutor:
    """``dagster_celery.celery_executor`` with a lost worker failing its step (module docstring)."""
    config = init_context.executor_config
    return TrialCeleryExecutor(
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
    )

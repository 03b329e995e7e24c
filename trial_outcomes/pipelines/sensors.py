"""Sensors: a run for each new EDC export once it stops changing, and an alert to
the people the plan names when a run crosses a stopping boundary."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from trial_outcomes.assets.shared import (
    ALERT_OWNER_TAG,
    ANNOUNCED_TAG,
    CUT_DIMENSION,
    DATA_CUT_PARTITIONS,
    DATA_CUTS,
    DROP_FINGERPRINT_TAG,
    FAILED_CHECKS_TAG,
    PUBLISHED_FOLDER_TAG,
    RESULT_TAG,
    STOPPING_TAG,
    TRIAL_DIMENSION,
    TRIGGER_TAG,
    DropSettings,
    boundary_crossed,
)
from trial_outcomes.errors import DataDropError
from trial_outcomes.io.publishing import alert_lock
from trial_outcomes.io.readers import EXTENSIONS, latest_date_in_drop
from trial_outcomes.io.records import drop_files, drop_fingerprint
from trial_outcomes.pipelines.coordinator import OUT_FOLDER_TAG
from trial_outcomes.pipelines.notify import Alert, announce, configured_channels
from trial_outcomes.plan import Notify
from trial_outcomes.reporting.summary import QUERY_TITLES

if TYPE_CHECKING:
    from trial_outcomes.analysis.stopping import StoppingResult

SENSOR_INTERVAL_SECONDS = 60


def drop_folders(landing: Path) -> list[Path]:
    """Each folder under ``landing`` holding an enrolment file is one drop (the
    landing folder itself too, when files are dropped straight into it)."""
    if not landing.is_dir():
        return []
    candidates = [landing, *sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("."))]
    return [p for p in candidates if any((p / f"enrolment.{ext}").is_file() for ext in EXTENSIONS)]


def build_drop_sensor(job_name: str, settings: DropSettings) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def new_drop_sensor(context: dg.SensorEvaluationContext):
        """A drop folder under the landing folder that is new or changed, and then
        unchanged at the next evaluation (at least a minute later, so that an export
        still being copied is not analysed), requests a run for the drop's data cut
        (its latest date), adding the partition. The run is tagged with the drop's
        SHA-256, and fails without publishing if the files differ when it reads them."""
        seen = _read_cursor(context.cursor)
        requests, cuts = [], set()
        for folder in drop_folders(settings.landing_path):
            key = folder.resolve().as_posix()
            fingerprint = drop_fingerprint(drop_files(folder))
            state = seen.get(key, {})
            if state.get("sha256") != fingerprint:
                seen[key] = {"sha256": fingerprint, "requested": False}
                context.log.info(f"drop {folder.name} is new or changed; it runs if unchanged at the next evaluation")
                continue
            if state["requested"]:
                continue
            state["requested"] = True
            try:
                latest = latest_date_in_drop(folder)
            except DataDropError as exc:
                context.log.error(f"drop {folder.name} cannot be read: {exc}")
                continue
            if latest is None:
                context.log.error(f"drop {folder.name} holds no valid date to take as the data cut")
                continue
            cut = latest.isoformat()
            cuts.add(cut)
            requests.append(
                dg.RunRequest(
                    run_key=f"{folder.name}:{fingerprint[:16]}",
                    partition_key=cut,
                    run_config=settings.run_config(data_dir=str(folder)),
                    tags={"trial/drop": folder.name, TRIGGER_TAG: "sensor", DROP_FINGERPRINT_TAG: fingerprint},
                )
            )
        cursor = json.dumps(seen, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason="no new drop unchanged since the last evaluation", cursor=cursor)
        return dg.SensorResult(
            run_requests=requests,
            cursor=cursor,
            dynamic_partitions_requests=[DATA_CUTS.build_add_request(sorted(cuts))],
        )

    return new_drop_sensor


def _read_cursor(cursor: str | None) -> dict[str, dict]:
    """Per drop folder: its SHA-256 when last seen, and whether a run was requested for it.
    (Cursors written before the settling rule hold the SHA-256 alone: those drops had runs.)"""
    seen = json.loads(cursor) if cursor else {}
    return {
        key: value if isinstance(value, dict) else {"sha256": value, "requested": True} for key, value in seen.items()
    }


def stopping_result(tags: dict[str, str]) -> StoppingResult | None:
    """The run's stopping rules as its ``stopping_rules`` step left them in its tags
    (``trial/stopping_result``; set when a boundary is crossed), or None."""
    from trial_outcomes.analysis.stopping import StoppingResult

    text = tags.get(RESULT_TAG)
    if not text:
        return None
    try:
        return StoppingResult.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None


ALERT_ROUNDS_TAG = "trial/boundary_alert_rounds"
#: how the alert state of a run starts when another run's alert is about the same version
NOT_SENT = "not sent: "
#: the final alert state of a run whose plan names no one ([notify] empty)
NO_ONE = "no one to tell"
MAX_ALERT_ROUNDS = 10  # rounds of delivery (each with the plan's retries) before giving up, said in the tag
STALE_SENDING = dt.timedelta(minutes=10)  # a "sending" state older than this was a process that died


def _sending_since(tag: str) -> dt.datetime | None:
    if not tag.startswith("sending since "):
        return None
    try:  # "sending since <time>", then the channels sent in earlier rounds
        return dt.datetime.fromisoformat(tag.split("; ", maxsplit=1)[0].removeprefix("sending since "))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


#: the statuses of a run that has not ended: it may yet publish a trial's cut or the pooled analysis
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
#: the statuses of a run that may have published a cut and not announced it: one whose process
#: died after the publishing step (left STARTED), or that failed or was cancelled after it
NOT_SUCCEEDED = [
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
    dg.DagsterRunStatus.CANCELING,
]


#: the tags of what one run did itself, never carried to its re-execution by ``portfolio retry``
#: (a re-execution launched from the UI carries every tag of its parent: ``inherited_publication``)
OWN_RUN_TAGS = frozenset({PUBLISHED_FOLDER_TAG, FAILED_CHECKS_TAG})


def inherited_publication(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the cut's folder on ``run``'s tags is its parent's too (a re-execution from the
    UI carries its parent's tags, and one that published the same outputs again shows the same
    folder): the parent published it, and owes its alert. A reviewer's failed re-execution of a
    run that failed after publishing was taken for a second publisher, announced twice."""
    folder = run.tags.get(PUBLISHED_FOLDER_TAG)
    if folder is None or run.parent_run_id is None:
        return False
    parent = instance.get_run_by_id(run.parent_run_id)
    return parent is not None and parent.tags.get(PUBLISHED_FOLDER_TAG) == folder


def published_itself(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether ``run`` published its cut itself, whether or not it then failed: its publishing
    step tagged the folder, and the folder is not one its parent's tags show too
    (``inherited_publication``). One answer for ``trial-outcomes run``, ``portfolio run`` and
    ``portfolio retry``."""
    return PUBLISHED_FOLDER_TAG in run.tags and not inherited_publication(instance, run)


def alert_state(run: dg.DagsterRun) -> dict[str, str]:
    """``run``'s tags, less an alert state that is another run's: a re-execution launched from
    the UI carries its parent's ``trial/boundary_announced`` (its owner tag names the parent),
    which says nothing of what the re-execution published. A reviewer's case: a re-execution
    that published a new version of a crossed cut carried "webhook: sent" and was never
    announced. A state written before owners were named (no owner tag) is the run's own, as
    before (a re-execution's, once it publishes a version of its own, is named its parent's by
    the publishing step: ``carried_alert``)."""
    tags = dict(run.tags)
    owner = tags.get(ALERT_OWNER_TAG)
    if owner is not None and owner != run.run_id:
        for key in (ANNOUNCED_TAG, ALERT_ROUNDS_TAG, ALERT_OWNER_TAG):
            tags.pop(key, None)
    return tags


def _same_version(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dg.DagsterRun]:
    """The other runs whose ``trial/published_folder`` is ``run``'s: the runs that published
    the same version (one made it, the others published the same outputs again, or carry
    their parent's folder)."""
    folder = run.tags.get(PUBLISHED_FOLDER_TAG)
    if not folder:
        return []
    runs = instance.get_runs(filters=dg.RunsFilter(tags={PUBLISHED_FOLDER_TAG: folder}))
    return [other for other in runs if other.run_id != run.run_id]


def _carries(state: str) -> bool:
    """Whether a run's own alert state stands for its version: sending, sent, or to be
    retried; not one that stood aside, gave up or found no one to tell."""
    return bool(state) and not state.startswith((NOT_SENT, NO_ONE)) and "GAVE UP" not in state


def announced_elsewhere(others: list[dg.DagsterRun]) -> dg.DagsterRun | None:
    """Among ``others`` (``_same_version``: the other runs of the version a run published,
    read once by ``announce_run``), the run whose own alert stands (``_carries``): that run announces it, once. A run
    that published no new version (the same outputs again: its folder is the earlier run's)
    or carries its parent's folder (the UI's re-execution copies it) owes nothing new; until
    2026-12-07 a second CLI run of a published drop, or an interrupted one that the retry
    sensor found ten minutes later, told the board of the same version again."""
    return next((o for o in others if _carries(alert_state(o).get(ANNOUNCED_TAG, ""))), None)


def _sent_lines(state: str) -> list[str]:
    """The channels an alert state says were sent ("webhook: sent"), whatever else it says."""
    return [line for line in state.split("; ") if line.endswith(": sent")]


def sent_elsewhere(others: list[dg.DagsterRun]) -> set[str]:
    """The channels ``others`` (the other runs of a version) already told of it, whatever that
    run's state became (a run that sent the webhook and gave up on the e-mail leaves the e-mail
    alone to send: a reviewer's second run sent both)."""
    return {
        line.removesuffix(": sent")
        for other in others
        for line in _sent_lines(alert_state(other).get(ANNOUNCED_TAG, ""))
    }


def left_to_us(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether ``run`` left its version's alert to another run ("not sent: ...") that no longer
    carries it: it GAVE UP, or its state is gone. The alert is ``run``'s again, so a version
    is never left unannounced by the run that stood aside for it."""
    return _stood_aside(run) and announced_elsewhere(_same_version(instance, run)) is None


def _stood_aside(run: dg.DagsterRun) -> bool:
    """Whether ``run`` crossed a boundary and left its version's alert to another run."""
    return alert_state(run).get(ANNOUNCED_TAG, "").startswith(NOT_SENT) and boundary_crossed(run.tags)


def published_unannounced(record: Any, now: dt.datetime) -> bool:
    """Whether a run that did not succeed (``record``: its ``RunRecord``) published a cut
    that crossed a boundary (its ``trial/published_folder`` and ``trial/stopping_boundary``
    tags) and still owes its alert: a delivery that failed (retried as a successful run's
    is), or nothing announced ``STALE_SENDING`` after the run's last change of status or
    tags, its process then taken as gone (a red team's ``portfolio run`` killed once its
    publishing step had started: the worker published the crossed safety boundary, the run
    stayed STARTED, and no one was told; the sensors looked at successful runs alone). The
    wait leaves a live process the time to announce it itself."""
    tags = alert_state(record.dagster_run)
    if PUBLISHED_FOLDER_TAG not in tags or not alert_pending(tags, now):
        return False
    if ANNOUNCED_TAG in tags:
        return True
    changed = record.update_timestamp
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=dt.UTC)
    return now - changed > STALE_SENDING


def alert_pending(tags: dict[str, str], now: dt.datetime) -> bool:
    """Whether a run that crossed a boundary still owes an alert: never tried, a channel
    FAILED in the last round (and the rounds are not spent), or a "sending" state left
    by a process that died (version 2 tagged "sending" and never tried again)."""
    if not boundary_crossed(tags):
        return False
    tag = tags.get(ANNOUNCED_TAG)
    if tag is None:
        return True
    since = _sending_since(tag)
    if since is not None:
        return now - since > STALE_SENDING
    return "FAILED" in tag and "GAVE UP" not in tag


def run_notify(run: dg.DagsterRun, settings: DropSettings) -> Notify:
    """The ``[notify]`` of the plan the run itself used: the copy published with its
    version of the cut (the cut may show another version since, of another plan), else
    with the cut, else the plan named in its run config, else the one the process was
    started with (version 2 always used the last: a launchpad run naming another plan
    told no one)."""
    from trial_outcomes.plan import PlanError, load_plan

    cut = run.tags.get("dagster/partition", "")
    version = published_version(run, _run_out_dir(run, settings))
    candidates = [version / "analysis_plan.toml"] if version is not None else []
    candidates += [_run_out_dir(run, settings) / cut / "analysis_plan.toml"] if cut else []
    named = _run_config(run).get("plan")
    if named:
        candidates.append(Path(named))
    for path in candidates:
        if path.is_file():
            try:
                return load_plan(path).notify
            except PlanError:
                continue
    return settings.analysis_plan().notify


def announce_run(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    notify: Notify,
    out_dir: Path,
    now: dt.datetime | None = None,
) -> list[str]:
    """Tell the people the plan names that ``run`` crossed a stopping boundary; one
    published version, one alert. The state is durable, in the run's tags:
    ``sending since <time>`` before anything is sent, then one result per channel. The
    decision (this run's alert, another run's of the same version, no one to tell) and
    that first write are made under the cut's alert lock (``alert_lock``), on the run's
    tags read again under it: the CLI right after its run and a sensor, or two runs of
    one version at one tick, never both send (until 2026-12-07 both could read the alert
    unclaimed at the same instant). A channel that FAILED is tried again by the retry
    sensor, up to ``MAX_ALERT_ROUNDS`` rounds, each with the plan's retries; a channel
    already sent is never sent twice. Never raises: a delivery problem is a line returned."""
    now = now or dt.datetime.now(dt.UTC)
    with alert_lock(out_dir, _cut_of(run.tags)) as held:
        run = instance.get_run_by_id(run.run_id) or run  # what another process wrote before the lock was ours
        claim = _claim_alert(instance, run, notify, out_dir, now)
    if isinstance(claim, list):
        return claim
    alert, pending, sent, rounds = claim
    try:
        results = announce(notify, alert, pending)
    except Exception as exc:  # announce catches per channel; this is the last guard
        results = [f"{c}: FAILED ({type(exc).__name__}: {exc})" for c in pending]
    state = sent + results
    failed = any("FAILED" in r for r in results)
    if failed and rounds >= MAX_ALERT_ROUNDS:
        state.append(f"GAVE UP after {rounds} rounds")
    elif failed:
        state.append(f"round {rounds} of {MAX_ALERT_ROUNDS}: will retry")
    instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: "; ".join(state), ALERT_OWNER_TAG: run.run_id})
    unlocked = [] if held else [f"{alert.subject}: decided without the cut's alert lock (none taken in {out_dir})"]
    return [f"{alert.subject}: {result}" for result in results] + unlocked


def _cut_of(tags: Mapping[str, str]) -> str:
    """A run's cut: a portfolio run's partition is (trial, cut), its cut the cut dimension's key."""
    return tags.get(f"dagster/partition/{CUT_DIMENSION}") or tags.get("dagster/partition", "?")


def _claim_alert(
    instance: dg.DagsterInstance, run: dg.DagsterRun, notify: Notify, out_dir: Path, now: dt.datetime
) -> list[str] | tuple[Alert, list[str], list[str], int]:
    """``announce_run``'s decision, under the cut's alert lock: the lines to return when
    ``run`` sends nothing (its state written: another run's alert, no one to tell, every
    channel told), else the alert, the channels to send, the ones it sent before and the
    round, its state written "sending since"."""
    tags = alert_state(run)
    others = _same_version(instance, run)  # read once: who else published this version, and told whom
    standing = announced_elsewhere(others)
    if _stood_aside(run) and standing is None:  # the run it stood aside for gave up: this run tries, round 1
        tags = {k: v for k, v in tags.items() if k != ALERT_ROUNDS_TAG}
        tags[ANNOUNCED_TAG] = "; ".join(_sent_lines(tags[ANNOUNCED_TAG]))  # what it had sent itself
    elif not alert_pending(tags, now):
        return []
    cut = _cut_of(tags)
    result = stopping_result(tags)
    rules = (result.alert_lines() if result is not None else []) or [tags.get(STOPPING_TAG, "crossed")]
    report = out_dir.resolve() / cut / "report.pdf"
    version = published_version(run, out_dir)
    if version is not None and (out_dir / cut).resolve() != version:  # the cut shows another version since
        report = version / "report.pdf"
    queries = published_queries(report.parent)
    alert = Alert(cut, run.run_id, rules, str(report) if report.is_file() else "", queries=queries)
    previous = tags.get(ANNOUNCED_TAG, "")
    sent = _sent_lines(previous)
    if standing is not None:  # one version, one alert: written down (with what this run sent), for good
        theirs = f"{NOT_SENT}this version's alert is run {standing.run_id[:8]}'s"
        aside = "; ".join([theirs, *sent])
        instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: aside, ALERT_ROUNDS_TAG: "0", ALERT_OWNER_TAG: run.run_id})
        return [f"{alert.subject}: {theirs} ({alert_state(standing)[ANNOUNCED_TAG]})"]
    if not notify.enabled:
        if "FAILED" in previous:  # a retry that finds no one: said, and no more rounds
            instance.add_run_tags(
                run.run_id,
                {
                    ANNOUNCED_TAG: tags[ANNOUNCED_TAG].split("; round")[0] + "; GAVE UP: the plan this run "
                    "published was not found (its output folder moved?) and the plan at hand names no one",
                    ALERT_OWNER_TAG: run.run_id,
                },
            )
        elif version is not None and (version / "analysis_plan.toml").is_file():  # its own plan names no one
            instance.add_run_tags(
                run.run_id, {ANNOUNCED_TAG: f"{NO_ONE}: the plan's [notify] is empty", ALERT_OWNER_TAG: run.run_id}
            )
        return [f"{alert.subject}: {NO_ONE} ([notify] in the analysis plan is empty)"]
    told = sent_elsewhere(others)  # one version, each channel once
    pending = [c for c in configured_channels(notify) if f"{c}: sent" not in sent and c not in told]
    if not pending and not sent:  # runs that gave up between them told every channel
        everyone = "every channel was told of this version by other runs"
        instance.add_run_tags(run.run_id, {ANNOUNCED_TAG: everyone, ALERT_OWNER_TAG: run.run_id})
        return [f"{alert.subject}: {everyone}"]
    rounds = int(tags.get(ALERT_ROUNDS_TAG, "0") or 0) + 1
    instance.add_run_tags(
        run.run_id,
        {
            ANNOUNCED_TAG: "; ".join([f"sending since {now.isoformat()}", *sent]),  # a death keeps what was sent
            ALERT_ROUNDS_TAG: str(rounds),
            ALERT_OWNER_TAG: run.run_id,
        },
    )
    return alert, pending, sent, rounds


def published_queries(folder: Path) -> list[str]:
    """The open data queries on the drop of the cut published in ``folder``, as the report's
    page 1 names them (from its ``manifest.json``: the drop's, then the Deaths section's);
    none when it cannot be read (the alert still goes: it is never held back by its extras)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        drop = manifest["data_drop"]
        checks = [str(query["check"]) for query in drop.get("data_queries") or []]
        deaths = [str(title) for title in drop.get("death_queries") or []]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return [QUERY_TITLES.get(check, check) for check in dict.fromkeys(checks)] + deaths


def _run_config(run: dg.DagsterRun) -> dict[str, Any]:
    resources = run.run_config.get("resources", {}) if isinstance(run.run_config, dict) else {}
    config = resources.get("settings", {}).get("config", {}) if isinstance(resources, dict) else {}
    return config if isinstance(config, dict) else {}


def _run_out_dir(run: dg.DagsterRun, settings: DropSettings) -> Path:
    """The output folder the run published in: its run config's (a launchpad run), else
    its tag's (a CLI run carries no run config) while that folder is there, else the
    process's own (a folder moved since: the sensor's, started on its new place)."""
    tagged = Path(run.tags.get(OUT_FOLDER_TAG, ""))
    configured = _run_config(run).get("out_dir")
    return Path(configured or (tagged if tagged.is_absolute() and tagged.is_dir() else settings.out_dir))


def published_version(run: dg.DagsterRun, out_dir: Path) -> Path | None:
    """The version folder the run's outputs were published in (``<out>/.versions/<cut>/vNNN``),
    or the same version under ``out_dir`` when the output folder has moved since; None
    when neither is there."""
    tagged = Path(run.tags.get(PUBLISHED_FOLDER_TAG, ""))
    if not tagged.is_absolute() or len(tagged.parts) < 4:
        return None
    for folder in (tagged, out_dir.resolve() / Path(*tagged.parts[-3:])):
        if folder.is_dir():
            return folder
    return None


def _log_lines(context: Any, lines: list[str]) -> None:
    for line in lines:
        (context.log.info if line.endswith(": sent") else context.log.warning)(line)


#: where a run's alert goes: the ``[notify]`` of the plan the run used, and the output folder
#: its cut was published in
AlertTarget = Callable[[dg.DagsterRun], tuple[Notify, Path]]


def drop_alert_target(settings: DropSettings) -> AlertTarget:
    """The alert target of a run of the data-cut job (``all_outcomes``)."""
    return lambda run: (run_notify(run, settings), _run_out_dir(run, settings))


#: the job Dagster makes of the assets: the UI's "Materialize" on the asset graph or an asset's
#: page launches it, not the data-cut job
ASSET_JOB = "__ASSET_JOB"


def alerted_runs(job_name: str, portfolio: bool = False) -> Callable[[dg.DagsterRun], bool]:
    """The runs a location's alert sensors answer for: its data-cut job's, and its asset
    job's (a red team's boundary crossed in a run launched from the asset graph was never
    announced: the sensors looked at ``job_name`` alone), of one trial (no trial partition)
    or of a portfolio (a trial partition) as ``portfolio`` says: two locations sharing an
    instance each answer for their own."""

    def ours(run: dg.DagsterRun) -> bool:
        in_portfolio = f"dagster/partition/{TRIAL_DIMENSION}" in run.tags
        return run.job_name in (job_name, ASSET_JOB) and in_portfolio == portfolio

    return ours


def build_boundary_sensor(job_name: str, target: AlertTarget, portfolio: bool = False) -> dg.SensorDefinition:
    ours = alerted_runs(job_name, portfolio)

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="stopping_boundary_alert",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Announces a crossed stopping boundary (webhook and e-mail, as the [notify] of the "
        "analysis plan the run used says) for every successful run of the data-cut job, whoever "
        "launched it, once per run; failed deliveries are retried by stopping_boundary_alert_retry.",
    )
    def stopping_boundary_alert(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
        run = context.dagster_run
        tags = alert_state(run)
        if not ours(run) or not boundary_crossed(tags):
            return dg.SkipReason(f"run {run.run_id[:8]}: no boundary crossed")
        if not alert_pending(tags, dt.datetime.now(dt.UTC)):
            return dg.SkipReason(f"run {run.run_id[:8]}: announced already ({tags[ANNOUNCED_TAG]})")
        _log_lines(context, announce_run(context.instance, run, *target(run)))
        return None

    return stopping_boundary_alert


def build_alert_retry_sensor(job_name: str, target: AlertTarget, portfolio: bool = False) -> dg.SensorDefinition:
    ours = alerted_runs(job_name, portfolio)

    @dg.sensor(
        name="stopping_boundary_alert_retry",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Retries every crossed-boundary alert whose delivery failed (or whose sender died), "
        f"up to {MAX_ALERT_ROUNDS} rounds per run; the run's trial/boundary_announced tag says where it stands. "
        "Announces too the crossed boundary of a cut published by a run that then failed, or whose process died "
        f"(left STARTED), once nothing has announced it for {int(STALE_SENDING.total_seconds() // 60)} minutes.",
    )
    def stopping_boundary_alert_retry(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        now = dt.datetime.now(dt.UTC)
        runs = context.instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]), limit=200)
        owed = [r for r in runs if ours(r) and ANNOUNCED_TAG in (own := alert_state(r)) and alert_pending(own, now)]
        others = context.instance.get_run_records(filters=dg.RunsFilter(statuses=NOT_SUCCEEDED), limit=200)
        owed += [r.dagster_run for r in others if ours(r.dagster_run) and published_unannounced(r, now)]
        stood_aside = [r for r in (*runs, *(o.dagster_run for o in others)) if ours(r) and r not in owed]
        owed += [r for r in stood_aside if left_to_us(context.instance, r)]
        # a publication is owed once, by the run that made it, not by each re-execution carrying its
        # folder; but a run that holds an alert of its own is retried, whatever its folder (a
        # reviewer's re-execution announced its parent's version, failed to deliver, and was
        # never tried again while the parent stood aside for it)
        owed = [r for r in owed if ANNOUNCED_TAG in alert_state(r) or not inherited_publication(context.instance, r)]
        delivered = 0
        for run in owed:
            lines = announce_run(context.instance, run, *target(run))
            delivered += any(line.endswith(": sent") for line in lines)
            _log_lines(context, lines)
        return dg.SkipReason(f"{len(owed)} alert(s) owed, {delivered} delivered" if owed else "no alert owed")

    return stopping_boundary_alert_retry


def junk_cut_keys(keys: Sequence[str]) -> dict[str, str]:
    """The data-cut partition keys that are not cuts, with the reason (``2024-4-1``:
    a cut is a real date written YYYY-MM-DD)."""
    from trial_outcomes.dates import parse_cut

    out = {}
    for key in keys:
        try:
            parse_cut(key)
        except ValueError as exc:
            out[key] = str(exc)
    return out


def out_of_date_order(keys: Sequence[str]) -> list[str]:
    """The cuts from the first one out of date order on, in date order (empty when the
    list is sorted): removed and added back, they leave every cut in date order, as
    Dagster lists partitions in the order they were added. ``2023-12-31`` added after
    ``2024-03-31`` and ``2024-06-30`` gives ``[2023-12-31, 2024-03-31, 2024-06-30]``."""
    cuts = list(keys)
    for i, (key, wanted) in enumerate(zip(cuts, sorted(cuts), strict=True)):
        if key != wanted:
            return sorted(cuts[i:])
    return []


def cut_key_requests(keys: Sequence[str]) -> tuple[list[dg.DynamicPartitionsRequest], dict[str, str], list[str]]:
    """What keeps the data-cut list clean and in date order: the request that deletes
    the keys that are not cuts (with why), and the cuts out of date order, to delete and
    add back in order. Those are moved on the instance by the sensor itself: Dagster
    refuses a tick whose requests delete and add the same key (the UI's daemon logged
    that error at every tick once a cut was added before an earlier one)."""
    junk = junk_cut_keys(keys)
    moved = out_of_date_order([k for k in keys if k not in junk])
    requests: list[dg.DynamicPartitionsRequest] = [DATA_CUTS.build_delete_request(list(junk))] if junk else []
    return requests, junk, moved


def build_cut_keys_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="data_cut_keys",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Removes a data-cut partition that is not a cut (the UI's add-partition dialog accepts "
        "any text, such as 2024-4-1): a run on it would only fail. Keeps the cuts in date order (a cut added "
        "after a later one is put back in its place). Says which key and why in its log.",
    )
    def data_cut_keys(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        requests, junk, moved = cut_key_requests(context.instance.get_dynamic_partitions(DATA_CUT_PARTITIONS))
        if not requests and not moved:
            return dg.SkipReason("every data cut is a date (YYYY-MM-DD), in date order")
        for key, why in junk.items():
            context.log.warning(f"removed the data cut partition {key!r}: {why}")
        if moved:
            for key in moved:
                context.instance.delete_dynamic_partition(DATA_CUT_PARTITIONS, key)
            context.instance.add_dynamic_partitions(DATA_CUT_PARTITIONS, moved)
            context.log.info("put the data cuts in date order: " + ", ".join(moved))
        return dg.SensorResult(dynamic_partitions_requests=requests)

    return data_cut_keys

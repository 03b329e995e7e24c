"""The Dagster pieces every asset and the wiring share: the data-cut partitions,
the settings resource, the run tags and the code versions. It sits low, so
imports run one way: schema -> io -> analysis -> assets -> pipelines -> cli."""

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._config.pythonic_config import ConfigurableResourceFactory

from trial_outcomes.io.publishing import CutBusy
from trial_outcomes.io.store import OutputStore
from trial_outcomes.plan import AnalysisPlan, PlanError, load_plan
from trial_outcomes.runspec import RunSpec

#: one partition per data cut, keyed by its date, written YYYY-MM-DD
DATA_CUT_PARTITIONS = "data_cut"
DATA_CUTS = dg.DynamicPartitionsDefinition(name=DATA_CUT_PARTITIONS)

#: run tag: the drop's SHA-256 (``io.records.drop_fingerprint``) when the run was requested
DROP_FINGERPRINT_TAG = "trial/drop_sha256"
#: run tag set when a stopping boundary of the analysis plan is crossed
STOPPING_TAG = "trial/stopping_boundary"
#: run tag holding the crossed cut's stopping rules as a typed value (``analysis.stopping.StoppingResult``, JSON)
RESULT_TAG = "trial/stopping_result"
#: how ``trial/stopping_boundary`` starts on a run whose own stopping rules were not crossed
#: though it carried a crossed tag: its parent's, copied by a re-execution launched from the UI
#: (Dagster copies every tag of the parent; tags cannot be removed, only written over)
NOT_CROSSED = "not crossed"
#: run tag set once the people the plan names were told of a crossed boundary
ANNOUNCED_TAG = "trial/boundary_announced"
#: the run whose alert ``trial/boundary_announced`` (and ``trial/boundary_alert_rounds``) describes,
#: written with it: a re-execution from the UI copies every tag of its parent, its alert state too
ALERT_OWNER_TAG = "trial/boundary_announced_by"


def carried_alert(tags: Mapping[str, str], parent_run_id: str | None, folder: str) -> dict[str, str]:
    """The owner tag a re-execution writes as it publishes ``folder``, a version other than the
    one it was launched carrying (its parent's ``trial/published_folder``): the alert state it
    carries, copied from its parent or written while it ran, is about that other version, never
    this one. Two reviewers' cases: a parent's state from before owners were named, read as the
    re-execution's own; a re-execution that announced its parent's version while it ran, whose
    state then stood for the new version. Either way the new version went unannounced."""
    if parent_run_id and ANNOUNCED_TAG in tags and tags.get(PUBLISHED_FOLDER_TAG) != folder:
        return {ALERT_OWNER_TAG: parent_run_id}
    return {}


def boundary_crossed(tags: Mapping[str, str]) -> bool:
    """Whether a run's tags say it crossed a stopping boundary: its ``trial/stopping_boundary``
    tag, unless its own stopping rules, evaluated again, wrote "not crossed" over the tag its
    parent's re-execution carried."""
    tag = tags.get(STOPPING_TAG, "")
    return bool(tag) and not tag.startswith(NOT_CROSSED)


#: run tag saying who started the run (cli, ui, sensor, schedule)
TRIGGER_TAG = "trial/trigger"
#: the run's failed checks, one line at the top of its page (published_cut sets it)
FAILED_CHECKS_TAG = "trial/failed_checks"
#: the version folder a run's outputs were published in (``<out>/.versions/<cut>/vNNN``): its
#: alert reads that version's plan and links its report, whatever the cut shows since
PUBLISHED_FOLDER_TAG = "trial/published_folder"
#: asset tag of every asset that writes a file published with the cut
OUTPUT_TAG = "trial/output"
OUTPUT_TAGS = {OUTPUT_TAG: "published"}
OWNERS = ["team:biostatistics"]
#: the annotation of an asset's run specification: ``settings: Run`` (the resource ``settings`` makes it)
Run = dg.ResourceParam[RunSpec]
#: resource keys: the run specification (configured as the drop settings), the locked output store
SETTINGS = "settings"
OUTPUT_STORE = "output_store"
FIGURE_WORKERS = "figure_workers"


#: how each cut asset is made for a partitioning: the decorator's arguments and function, kept so the
#: portfolio (``pipelines/portfolio.py``) builds the same graph partitioned by trial x cut
_BLUEPRINTS: dict[dg.AssetKey, Callable[[dg.PartitionsDefinition], dg.AssetsDefinition]] = {}


def cut_asset(*, group: str, version: str, domain: str, published: bool = True, **kwargs: Any) -> Any:
    """The decorator of every asset: one partition per data cut, owned by the
    biostatistics team, tagged with its domain and, when it writes a file that is
    published with the cut, with ``trial/output`` (the publish step waits for
    exactly those). Other ``dg.asset`` arguments pass through.

    The asset is also kept as a blueprint (``repartitioned``): the portfolio's graph is
    the same assets, the same code, partitioned by trial and cut."""
    tags = {**(OUTPUT_TAGS if published else {}), "domain": domain}
    specs = kwargs.pop("check_specs", None)

    def decorate(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        def build(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
            checks: dict[str, Any] = {"check_specs": [cut_check(spec, partitions) for spec in specs]} if specs else {}
            made: dg.AssetsDefinition = dg.asset(
                partitions_def=partitions,
                group_name=group,
                code_version=version,
                owners=OWNERS,
                tags=tags,
                **checks,
                **kwargs,
            )(fn)
            return made

        assets_def = build(DATA_CUTS)
        _BLUEPRINTS[assets_def.key] = build
        return assets_def

    return decorate


def reading(categories: Mapping[str, Iterable[str]] | None = None, **columns: Iterable[str]) -> dict[str, dg.AssetIn]:
    """``ins`` of a step that reads some columns of a frame input: the IO manager loads
    those columns alone, from the stored file's columns alone (``FrameStore``). A step
    that sums ADAE's grades at a million subjects then holds nine columns, not 1.5 GB.
    ``categories`` names, by input, the text columns to load as categories (codes and
    flags with a few values: 4 bytes a row, where polars holds text in 16). The survival
    step reads ADTTE's 8 million rows at a million subjects; alone, it peaked at 3.1 GB
    with its 17 coded columns as text and at 2.1 GB with them as categories."""
    coded = categories or {}
    return {
        name: dg.AssetIn(
            metadata={
                "columns": list(dict.fromkeys(read)),
                **({"categories": list(dict.fromkeys(coded[name]))} if name in coded else {}),
            }
        )
        for name, read in columns.items()
    }


def scanning(**columns: Iterable[str]) -> dict[str, dg.AssetIn]:
    """``ins`` of a step that queries some columns of a frame input: the IO manager hands
    a lazy scan of the stored file (``pl.LazyFrame``), which reads the rows and columns
    a query needs when it runs. The report counts ADAE's CRS terms and lists its events
    outside the treatment-emergent window: 3.9 million events at a million subjects,
    loaded for a few hundred rows."""
    return {
        name: dg.AssetIn(metadata={"columns": list(dict.fromkeys(read)), "scan": True})
        for name, read in columns.items()
    }


def repartitioned(assets_def: dg.AssetsDefinition, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """``assets_def`` (made by ``cut_asset``) made again with ``partitions`` instead of the data cuts."""
    return _BLUEPRINTS[assets_def.key](partitions)


def cut_check(spec: dg.AssetCheckSpec, partitions: dg.PartitionsDefinition = DATA_CUTS) -> dg.AssetCheckSpec:
    """The check partitioned by the data cut, as its asset: each result then states its
    cut in the UI (issue 22: a result showed partition "-", and the check's history
    mixed cuts and drops). Dagster 1.13 marks a partitioned check a preview; its
    warning is raised once here, at definition, and is not the user's to act on."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")
        return dg.AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
            partitions_def=partitions,
        )


_PACKAGE = Path(__file__).resolve().parents[1]


@cache
def code_version(*parts: str) -> str:
    """A code version derived from the code: the SHA-256 (first 16 hex digits) of the
    sources that shape an asset's data (``schema``, ``contracts``, ``plan``,
    ``labels``, ``dates``, ``io/``, ``analysis/``) and of ``parts`` (package-relative
    files or folders, such as the asset's own module). Any change to them marks the
    asset stale in the UI; nothing else does."""
    digest = hashlib.sha256()
    for part in ("schema.py", "contracts.py", "plan.py", "labels.py", "dates.py", "io", "analysis", *parts):
        digest.update(_source_digest(part))
    return digest.hexdigest()[:16]


@cache
def _source_digest(part: str) -> bytes:
    """The SHA-256 of one package file or folder (its ``*.py`` files), read once per
    process: every asset module shares most of its sources with the others."""
    path = _PACKAGE / part
    digest = hashlib.sha256()
    for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
        digest.update(source.relative_to(_PACKAGE).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.digest()


class DropSettings(ConfigurableResourceFactory[RunSpec]):
    """The configuration of a run (one data drop, one output folder, the analysis plan;
    the data cut is the run's partition key), and its one job: to make the run's
    ``RunSpec`` when the run starts. Steps receive that value, never this object: the
    plan is read and the cut parsed here, once per run. A partition key that is not a
    cut date, or a plan that does not validate, fails the run before any step runs.

    An empty ``plan`` is the packaged analysis plan. Defaults come from
    ``TRIAL_DATA_DIR``, ``TRIAL_OUT_DIR`` and ``TRIAL_PLAN``. ``supersede_reason``:
    publish this drop for a cut already published from another drop (the earlier
    version is kept; the reason goes in the manifest and the report).
    ``previous_cut``: the cut to compare with (empty: the plan's
    ``[comparison] previous_cut``). The sensors read the same fields (the landing
    folder, the run config they launch with)."""

    data_dir: str = "data/sample"
    out_dir: str = "outputs"
    plan: str = ""
    landing_dir: str = ""  # empty: the analysis plan's [sensor] landing_dir
    supersede_reason: str = ""
    previous_cut: str = ""

    def create_resource(self, context: dg.InitResourceContext) -> RunSpec:
        run = context.run
        partition = run.tags.get("dagster/partition") if run is not None else None
        if partition is None:
            raise dg.Failure(
                description="nothing was run: a run of the outcome assets needs a data cut (its partition key)",
                allow_retries=False,
            )
        try:
            return self.spec(partition)
        except (ValueError, PlanError) as exc:
            raise dg.Failure(description=f"nothing was run: {exc}", allow_retries=False) from None

    def spec(self, cut: str | dt.date, plan: AnalysisPlan | None = None) -> RunSpec:
        """The run specification of these settings for ``cut`` (``plan``: already loaded)."""
        return RunSpec.make(
            cut,
            plan if plan is not None else self.plan,
            self.data_dir,
            self.out_dir,
            supersede_reason=self.supersede_reason,
            previous_cut=self.previous_cut,
        )

    def analysis_plan(self) -> AnalysisPlan:
        """The plan these settings name, read now (for the sensors and the schedule, outside a run)."""
        return load_plan(self.plan or None)

    def run_config(self, **changes: str) -> dict[str, object]:
        """Run config for these settings with ``changes`` (run config replaces every field)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return {"resources": {"settings": {"config": {**fields, **changes}}}}

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_dir or self.analysis_plan().landing_dir)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir)

    @classmethod
    def from_env(cls) -> "DropSettings":
        return cls(
            data_dir=os.environ.get("TRIAL_DATA_DIR", "data/sample"),
            out_dir=os.environ.get("TRIAL_OUT_DIR", "outputs"),
            plan=os.environ.get("TRIAL_PLAN", ""),
            landing_dir=os.environ.get("TRIAL_LANDING_DIR", ""),
        )


@dg.resource(required_resource_keys={SETTINGS})
def output_store(context: dg.InitResourceContext) -> Iterator[OutputStore]:
    """The output folder of the run's cut, locked for the run (``io/publishing.py``):
    the one place a run takes the lock and empties its working folder."""
    spec: RunSpec = getattr(context.resources, SETTINGS)
    run = context.run
    run_id = run.run_id if run is not None else "no-run"
    instance = context.instance
    running = (lambda holder: _run_is_going(instance, holder)) if instance is not None else None
    try:
        with OutputStore.locked(spec, run_id, running) as store:
            yield store
    except CutBusy as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


@dg.resource
def figure_workers(_context: dg.InitResourceContext) -> Iterator[None]:
    """The figure workers, started with the run when it draws figures (only the
    ``figures`` step needs this resource, so a run without it starts none): they load
    matplotlib and its fonts on the other core while the first steps read the drop, so
    the figures step finds them ready. They die with the run."""
    from trial_outcomes.reporting.figures.render import figure_workers as workers

    with workers():
        yield


#: the portfolio's partitions: trial x data cut (``pipelines/portfolio.py``); the UI shows them as a grid
TRIAL_DIMENSION = "trial"
CUT_DIMENSION = "cut"
PORTFOLIO_CUT_PARTITIONS = "portfolio_cut"
PORTFOLIO_CUTS = dg.DynamicPartitionsDefinition(name=PORTFOLIO_CUT_PARTITIONS)


def portfolio_partitions(trial_ids: list[str]) -> dg.MultiPartitionsDefinition:
    """Trial (static, from the portfolio file) x cut (dynamic, added as drops arrive)."""
    return dg.MultiPartitionsDefinition(
        {TRIAL_DIMENSION: dg.StaticPartitionsDefinition(trial_ids), CUT_DIMENSION: PORTFOLIO_CUTS}
    )


def trial_and_cut(tags: dict[str, str]) -> tuple[str, str] | None:
    """The (trial, cut) a portfolio run's tags name, or None."""
    trial = tags.get(f"dagster/partition/{TRIAL_DIMENSION}")
    cut = tags.get(f"dagster/partition/{CUT_DIMENSION}")
    return (trial, cut) if trial and cut else None


#: the SHA-256 of the analysis plan a portfolio run started with: each step's plan must be it
PLAN_TAG = "trial/plan_sha256"


class PortfolioSettings(ConfigurableResourceFactory[RunSpec]):
    """The run specification of a portfolio run: the trial and cut come from the run's
    partition (trial x cut), the trial's drop folder, output folder and plan from the
    portfolio file (``portfolio.py``), read when the run (or, under celery, the step)
    starts. The run's tag ``PLAN_TAG`` holds the plan it started with; a step that reads
    another (the file edited mid-run) fails the run."""

    portfolio: str

    def create_resource(self, context: dg.InitResourceContext) -> RunSpec:
        from trial_outcomes.portfolio import PortfolioError, load_portfolio

        run = context.run
        key = trial_and_cut(dict(run.tags)) if run is not None else None
        if key is None:
            raise dg.Failure(
                description="nothing was run: a portfolio run needs a trial and a data cut (its partition key)",
                allow_retries=False,
            )
        try:
            spec = load_portfolio(self.portfolio).run_spec(*key)
        except (ValueError, PlanError, PortfolioError) as exc:
            raise dg.Failure(description=f"nothing was run: {exc}", allow_retries=False) from None
        # under celery each step reads the plan again: the run keeps the plan it started with
        # (a red team's plan edited mid-run published a cut whose stopping rules used the old
        # threshold while its manifest and plan copy gave the new one)
        pinned = run.tags.get(PLAN_TAG) if run is not None else None
        if pinned is None and run is not None and context.instance is not None:
            context.instance.add_run_tags(run.run_id, {PLAN_TAG: spec.plan_sha256})
        elif pinned is not None and pinned != spec.plan_sha256:
            raise dg.Failure(
                description=f"the analysis plan of trial {key[0]} changed while the run was under way (SHA-256 "
                f"{pinned[:16]}... when it started, {spec.plan_sha256[:16]}... now): one run is made under one "
                "plan, so nothing is published; run the cut again (portfolio run) to use the plan as it is now",
                allow_retries=False,
            )
        return spec


def _run_is_going(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run is still queued or running (a run this instance does not know: no)."""
    going = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
    run = instance.get_run_by_id(run_id)
    return run is not None and run.status in going


@dg.resource(required_resource_keys={SETTINGS})
def shared_output_store(context: dg.InitResourceContext) -> OutputStore:
    """The output store of a run whose steps run in separate processes (celery workers):
    each step process makes it, and the cut is held by a lease naming the run (and its
    root run, so a re-execution from a failure continues the same working folder)
    rather than by a lock one process holds for the run (``OutputStore.leased``)."""
    spec: RunSpec = getattr(context.resources, SETTINGS)
    run = context.run
    if run is None:
        raise dg.Failure(description="the output store is made for a run", allow_retries=False)
    root = run.root_run_id or run.run_id
    instance = context.instance
    if instance is None:
        raise dg.Failure(description="the output store needs the run's Dagster instance", allow_retries=False)
    try:
        return OutputStore.leased(spec, run.run_id, root, lambda holder: _run_is_going(instance, holder))
    except CutBusy as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None

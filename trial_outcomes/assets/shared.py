"""The Dagster pieces every asset and the wiring share: the data-cut partitions,
the settings resource, the run tags and the code versions. It sits low, so
imports run one way: schema -> io -> analysis -> assets -> pipelines -> cli."""

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from trial_outcomes.dates import parse_cut
from trial_outcomes.io.publishing import CutBusy, clear_work, cut_lock
from trial_outcomes.plan import AnalysisPlan, PlanError, load_plan

#: one partition per data cut, keyed by its date, written YYYY-MM-DD
DATA_CUT_PARTITIONS = "data_cut"
DATA_CUTS = dg.DynamicPartitionsDefinition(name=DATA_CUT_PARTITIONS)

#: run tag: the drop's SHA-256 (``io.records.drop_fingerprint``) when the run was requested
DROP_FINGERPRINT_TAG = "trial/drop_sha256"
#: run tag set when a stopping boundary of the analysis plan is crossed
STOPPING_TAG = "trial/stopping_boundary"
#: run tag set once the people the plan names were told of a crossed boundary
ANNOUNCED_TAG = "trial/boundary_announced"
#: run tag saying who started the run (cli, ui, sensor, schedule)
TRIGGER_TAG = "trial/trigger"
#: the run's failed checks, one line at the top of its page (published_cut sets it)
FAILED_CHECKS_TAG = "trial/failed_checks"
#: asset tag of every asset that writes a file published with the cut
OUTPUT_TAG = "trial/output"
OUTPUT_TAGS = {OUTPUT_TAG: "published"}
OWNERS = ["team:biostatistics"]


def cut_asset(*, group: str, version: str, domain: str, published: bool = True, **kwargs: Any) -> Any:
    """The decorator of every asset: one partition per data cut, owned by the
    biostatistics team, tagged with its domain and, when it writes a file that is
    published with the cut, with ``trial/output`` (the publish step waits for
    exactly those). Other ``dg.asset`` arguments pass through."""
    tags = {**(OUTPUT_TAGS if published else {}), "domain": domain}
    if "check_specs" in kwargs:
        kwargs["check_specs"] = [cut_check(spec) for spec in kwargs["check_specs"]]
    return dg.asset(
        partitions_def=DATA_CUTS, group_name=group, code_version=version, owners=OWNERS, tags=tags, **kwargs
    )


def cut_check(spec: dg.AssetCheckSpec) -> dg.AssetCheckSpec:
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
            partitions_def=DATA_CUTS,
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


class DropSettings(dg.ConfigurableResource):
    """One data drop, one output folder and the analysis plan; the data cut is the
    partition key of the run. An empty ``plan`` is the packaged analysis plan.
    Defaults come from ``TRIAL_DATA_DIR``, ``TRIAL_OUT_DIR`` and ``TRIAL_PLAN``.

    ``supersede_reason``: publish this drop for a cut already published from
    another drop (the earlier version is kept; the reason goes in the manifest and
    the report). ``previous_cut``: the cut to compare with (empty: the plan's
    ``[comparison] previous_cut``).

    For the run of a cut, the resource holds the cut's lock from the run's start
    to its end, whoever launched it (CLI, UI, sensor, schedule), refuses a
    partition key that is not a cut date before any step runs, and empties the
    cut's working folder."""

    data_dir: str = "data/sample"
    out_dir: str = "outputs"
    plan: str = ""
    landing_dir: str = ""  # empty: the analysis plan's [sensor] landing_dir
    supersede_reason: str = ""
    previous_cut: str = ""

    def analysis_plan(self) -> AnalysisPlan:
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

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["DropSettings"]:
        run = context.run
        partition = run.tags.get("dagster/partition") if run is not None else None
        if run is None or partition is None:  # a sensor, a schedule, or a run outside the data-cut job
            yield self
            return
        try:
            parse_cut(partition)
            self.analysis_plan()
        except (ValueError, PlanError) as exc:
            raise dg.Failure(description=f"nothing was run: {exc}", allow_retries=False) from None
        try:
            with cut_lock(self.out_path, partition, f"run {run.run_id[:8]} (process {os.getpid()})"):
                clear_work(self.out_path, partition)
                with _partitions_known_for_the_run(context.instance), _figure_workers(run):
                    yield self
        except CutBusy as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None


@contextmanager
def _partitions_known_for_the_run(instance: dg.DagsterInstance | None) -> Iterator[None]:
    """Dagster asks the instance whether the run's data cut exists for every input and
    output of every step: several hundred queries of the same row in a run (about a
    second of the sample's six). A cut that exists stays known for the rest of the
    run (the run started with it); a cut not found is asked again."""
    if instance is None:
        yield
        return
    ask = instance.has_dynamic_partition
    known: set[tuple[str, str]] = set()

    def has_dynamic_partition(partitions_def_name: str, partition_key: str) -> bool:
        if (partitions_def_name, partition_key) in known:
            return True
        found = ask(partitions_def_name, partition_key)
        if found:
            known.add((partitions_def_name, partition_key))
        return found

    instance.has_dynamic_partition = has_dynamic_partition  # type: ignore[method-assign]
    try:
        yield
    finally:
        del instance.has_dynamic_partition


@contextmanager
def _figure_workers(run: dg.DagsterRun) -> Iterator[None]:
    """Start the figure workers with the run when it draws figures: they load
    matplotlib and its fonts on the other core while the first steps read the drop,
    so the figures step finds them ready."""
    selection = run.asset_selection  # None or empty: the whole job
    if selection and dg.AssetKey("figures") not in selection:
        yield
        return
    from trial_outcomes.reporting.figures.render import figure_workers

    with figure_workers():
        yield

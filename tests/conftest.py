"""Shared fixtures: a small synthetic drop made once, copied for each test, and one
full run of the asset graph on it shared by the tests that only read its results."""

from __future__ import annotations

import functools
import os
import re
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.helpers import FAST_TIER_ENV, materialize_cut, webhook_server
from trial_outcomes.synth.generator import generate

SMALL_SUBJECTS = 40
SEED = 7


#: a test reading the shared run of the graph: one of its parameters is the ``materialized`` fixture
_READS_SHARED_RUN = re.compile(r"def test_\w+\([^)]*\bmaterialized\b")


def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile`` (the README's command) each test file goes to one worker,
    except that the files reading the shared run of the graph (``materialized``) go to
    one worker together, so that it is made once: the two workers each made it (30 s of
    the fast tier each). xdist's ``loadgroup`` marks cannot do this under pytest 9 (it
    renames a test's ``_nodeid``, which pytest 9 no longer reads)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    root = Path(str(config.rootpath))

    class SharedRunTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return "the shared run" if _reads_shared_run(root / file) else file

    scheduler = SharedRunTogether(config, log)
    # the queue of files, costliest first (a worker is sent its tests by their index in its own
    # collection, so the collections themselves must keep their order)
    scheduler.workqueue = _CostliestFirst()
    return scheduler


class _CostliestFirst(OrderedDict):  # type: ignore[type-arg]
    """xdist's queue of scopes (files), whose next one (``popitem(last=False)``) is the
    costliest left by ``COSTLIEST``, the rest in xdist's order."""

    def popitem(self, last: bool = True):  # type: ignore[no-untyped-def]
        if last or not self:
            return super().popitem(last)
        scope = min(self, key=_cost_rank)  # the first of equal rank: xdist's order
        return scope, self.pop(scope)


#: the files that take longest, as measured in the whole suite (CI's command) on 2026-12-02:
#: each is given to a worker before any other file, so that the two workers end together.
#: In xdist's own order (the files with most tests first) these few-test files came last,
#: and one worker ran the last of them for minutes while the other idled. Seconds of one
#: worker, on a quiet machine:
COSTLIEST = (
    "tests/e2e/test_celery_portfolio.py",  # 780 s
    "tests/e2e/test_every_cut.py",  # 430 s
    "tests/e2e/test_generated_drops.py",  # 240 s, and as much the other half
    "tests/e2e/test_generated_drops_degenerate.py",
    "tests/e2e/test_every_month_end.py",  # 280 s
    "tests/e2e/test_published_cuts.py",  # about 500 s in 16 tests
    "tests/e2e/test_robustness.py",
    "tests/e2e/test_attacks_round3.py",
    "tests/e2e/test_independent_qc.py",
    "tests/e2e/test_bad_input.py",
    "tests/e2e/test_dagster_ui.py",
    "tests/e2e/test_other_seeds.py",
)


def _cost_rank(scope: str) -> int:
    return COSTLIEST.index(scope) if scope in COSTLIEST else len(COSTLIEST)


@functools.cache
def _reads_shared_run(path: Path) -> bool:
    return path.is_file() and _READS_SHARED_RUN.search(path.read_text(encoding="utf-8")) is not None


def pytest_configure(config) -> None:
    """The fast tier (``-m "not slow"``) runs each property test on a quarter of its
    examples (``helpers.examples``); the whole suite, CI's, runs them all. Set before
    the test modules are imported, on each xdist worker too."""
    os.environ[FAST_TIER_ENV] = "1" if config.getoption("markexpr", "").replace(" ", "") == "notslow" else ""


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory) -> Path:
    """Every test session (each xdist worker) has its own Dagster home: CLI runs in the
    tests never touch the project's .dagster_home, nor each other's."""
    home = tmp_path_factory.mktemp("dagster_home")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def small_drop_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small_drop")
    generate(path, SMALL_SUBJECTS, SEED)
    return path


@pytest.fixture
def drop(small_drop_master, tmp_path) -> Path:
    """A fresh, writable copy of the small synthetic drop."""
    target = tmp_path / "drop"
    shutil.copytree(small_drop_master, target)
    return target


@pytest.fixture(scope="session")
def toxic_drop(small_drop_master, tmp_path_factory) -> Path:
    """The small drop with every reported CRS made grade 4: far above the safety rule's
    20 % threshold, so the boundary is crossed at any cut."""
    drop = tmp_path_factory.mktemp("toxic")
    shutil.copytree(small_drop_master, drop, dirs_exist_ok=True)
    ae = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    crs = pl.col("term") == "Cytokine release syndrome"
    ae.with_columns(
        pl.when(crs & (pl.col("grade") != "5")).then(pl.lit("4")).otherwise(pl.col("grade")).alias("grade")
    ).write_csv(drop / "adverse_events.csv")
    return drop


@pytest.fixture
def webhook():
    """A webhook server on 127.0.0.1 for one test: its URL and the bodies it received."""
    with webhook_server() as server:
        yield server


@dataclass(frozen=True)
class Materialized:
    result: dg.ExecuteInProcessResult
    out: Path
    cut: str

    @property
    def folder(self) -> Path:
        return self.out / self.cut


@pytest.fixture(scope="session")
def materialized(small_drop_master, tmp_path_factory) -> Materialized:
    """The whole job on the small drop, once per test session (per worker)."""
    out = tmp_path_factory.mktemp("materialized")
    result, cut = materialize_cut(small_drop_master, out)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    return Materialized(result, out, cut)

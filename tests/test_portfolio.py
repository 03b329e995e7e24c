"""The portfolio file (trial_outcomes/portfolio.py): every path resolved against the
file's folder, and each mistake refused in one line naming the file and the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trial_outcomes.portfolio import PortfolioError, load_portfolio

GOOD = """
[[trials]]
id = "ped-ball"
title = "Paediatric B-ALL"
data = "drops/ped"
out = "published/ped"

[[trials]]
id = "adult"
data = "/abs/drops/adult"
out = "published/adult"

[pooled]
out = "published/pooled"
cuts = { ped-ball = "2024-03-31" }

[execution]
executor = "celery"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portfolio.toml"
    path.write_text(text)
    return path


def test_paths_are_resolved_against_the_file(tmp_path: Path) -> None:
    portfolio = load_portfolio(write(tmp_path, GOOD))
    assert portfolio.trial_ids == ["ped-ball", "adult"]
    assert portfolio.trial("ped-ball").data == (tmp_path / "drops/ped").resolve()
    assert portfolio.trial("adult").data == Path("/abs/drops/adult")
    assert portfolio.trial("adult").label == "adult"
    assert portfolio.pooled.out == (tmp_path / "published/pooled").resolve()
    assert portfolio.pooled.factor == "PRHSCTFL"
    assert portfolio.execution.executor == "celery"
    assert portfolio.execution.broker.startswith("pyamqp://guest:guest@127.0.0.1:5672")


def test_a_run_spec_per_trial_and_cut(tmp_path: Path) -> None:
    spec = load_portfolio(write(tmp_path, GOOD)).run_spec("ped-ball", "2024-03-31")
    assert spec.cut == dt.date(2024, 3, 31)
    assert spec.data_dir == (tmp_path / "drops/ped").resolve()
    assert spec.out_dir == (tmp_path / "published/ped").resolve()
    assert spec.plan.path.endswith("analysis_plan.toml")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('id = "adult"', 'id = "Adult B"'), "trials.1.id: String should match pattern"),
        (('id = "adult"', 'id = "ped-ball"'), "trial id given twice: ped-ball"),
        (('out = "published/adult"', 'out = "published/ped"'), "publish to one folder"),
        (('ped-ball = "2024-03-31"', 'other = "2024-03-31"'), "does not have: other"),
        (('ped-ball = "2024-03-31"', 'ped-ball = "2024-3-31"'), "pooled.cuts"),
        (('executor = "celery"', 'executor = "k8s"'), "execution.executor"),
        (('title = "Paediatric B-ALL"', 'titel = "x"'), "trials.0.titel: Extra inputs are not permitted"),
        (('[pooled]\nout = "published/pooled"', "[pooled]"), "pooled.out: Field required"),
    ],
)
def test_each_mistake_is_refused_naming_the_key(tmp_path: Path, change: tuple[str, str], words: str) -> None:
    assert change[0] in GOOD
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(PortfolioError, match=str(path).replace(".", r"\.")) as error:
        load_portfolio(path)
    assert words in str(error.value)


def test_no_file_no_trials_not_toml(tmp_path: Path) -> None:
    with pytest.raises(PortfolioError, match="no such portfolio file"):
        load_portfolio(tmp_path / "absent.toml")
    with pytest.raises(PortfolioError, match="not TOML"):
        load_portfolio(write(tmp_path, "[[trials]\n"))
    with pytest.raises(PortfolioError, match="trials: List should have at least 1 item"):
        load_portfolio(write(tmp_path, 'trials = []\n[pooled]\nout = "x"\n'))
    with pytest.raises(PortfolioError, match="no trial 'x'"):
        load_portfolio(write(tmp_path, GOOD)).trial("x")

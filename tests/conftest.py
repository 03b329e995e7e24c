"""Shared fixtures: a small synthetic drop made once, copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trial_outcomes.synth.generator import generate

SMALL_SUBJECTS = 40
SEED = 7


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

"""The order in which the README's command gives test files to its workers
(``conftest.pytest_xdist_make_scheduler``)."""

from __future__ import annotations

from tests.conftest import COSTLIEST, _CostliestFirst
from tests.helpers import ROOT


def test_every_costliest_file_exists():
    """A renamed file would silently lose its place at the head of the queue."""
    assert [f for f in COSTLIEST if not (ROOT / f).is_file()] == []


def test_the_queue_gives_out_the_costliest_first_and_the_rest_in_their_order():
    queue = _CostliestFirst()
    for scope in ["tests/a.py", COSTLIEST[2], "tests/b.py", COSTLIEST[0]]:
        queue[scope] = {}
    taken = [queue.popitem(last=False)[0] for _ in range(4)]
    assert taken == [COSTLIEST[0], COSTLIEST[2], "tests/a.py", "tests/b.py"]

"""The pooled folder's publication (``io.store.PooledStore``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trial_outcomes.io.outputs import ToPublish
from trial_outcomes.io.publishing import PublishRefused
from trial_outcomes.io.store import PooledStore


def test_a_pooled_analysis_whose_inputs_moved_while_it_ran_publishes_nothing(tmp_path: Path) -> None:
    """A red team's pooled run read a trial's v001 and was held while v002 superseded it
    and a second pooled run pooled v002; the first then published v001's numbers as the
    current pooled analysis. Asked under the pooled lock, what moved refuses the
    publication, naming it; nothing is published, and the next run (inputs current) is."""
    store = PooledStore(tmp_path / "pooled-out")
    bundle = ToPublish(None, {}, {"pooled_report.html": b"<p>pooled</p>"})
    manifest = {"pooled": {"factor": "SEX", "trials": []}}
    moved = "trial a: cut 2024-03-31 is now version v002 (pooled: v001)"
    with pytest.raises(PublishRefused, match=r"changed while this run pooled them \(trial a: cut 2024-03-31 is now"):
        store.publish("run-1", bundle, dt.date(2024, 3, 31), manifest, lambda: [moved])
    assert not (store.out_dir / store.name).exists()
    final, new, written = store.publish("run-2", bundle, dt.date(2024, 3, 31), manifest, lambda: [])
    assert new and final.resolve().name == "v001" and (final / "pooled_report.html").read_bytes() == b"<p>pooled</p>"
    assert written["outputs"].keys() == {"pooled_report.html"}

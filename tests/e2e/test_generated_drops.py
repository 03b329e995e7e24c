"""Generated small drops through the whole Dagster job (issue 19), first half: drops of
mixed events, everyone on the same day, everyone censored at day 0 (the builder and the
other half: ``generated.py``, ``test_generated_drops_degenerate.py``). Each one publishes,
contracts included: a statistic at its edge never stops a run (endpoints.md, Interim
analyses)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.generated import SETTINGS, person, publishes
from tests.helpers import materialize_cut, qc_disagreements

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("one_level", [False, True])
@pytest.mark.parametrize("kind", ["mixed", "same_day", "censored_day0"])
@SETTINGS
@given(people=st.lists(person, min_size=1, max_size=10))
def test_every_generated_drop_publishes(kind, one_level, people):
    publishes(people, kind, one_level)


def test_a_cause_coded_unknown_with_a_clear_text_is_queried_in_the_report(tmp_path):
    """``synth --subjects 8 --seed 1``: BR-004 died of "Refractory leukemia" with the
    cause coded UNKNOWN. The report's data queries list the death, saying what its text
    reads (the report reads DTHCATSR for it: a column left out of the report's ADSL
    columns would fail the run here), and the R QC agrees."""
    import html

    from trial_outcomes.synth.generator import generate

    generate(tmp_path / "drop", 8, 1)
    assert "BR-004,2022-08-31,DEATH,Refractory leukemia,UNKNOWN" in (tmp_path / "drop" / "followup.csv").read_text()
    result, cut = materialize_cut(tmp_path / "drop", tmp_path / "out")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    page = html.unescape((tmp_path / "out" / cut / "report.html").read_text())
    queries = page[page.index("Data queries: deaths whose cause is unknown") :][:3000]
    assert "BR-004" in queries and "coded UNKNOWN, but the text reads Leukaemia" in queries
    assert not qc_disagreements(tmp_path / "out" / cut)

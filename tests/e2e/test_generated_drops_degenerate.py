"""Generated small drops through the whole Dagster job (issue 19), second half: all
events, no events, a group whose last subject at risk has the event (the builder and the
first half: ``generated.py``, ``test_generated_drops.py``). Each one publishes, contracts
included, and the R QC agrees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.generated import SETTINGS, person, publishes

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("one_level", [False, True])
@pytest.mark.parametrize("kind", ["all_events", "no_events", "last_at_risk_has_event"])
@SETTINGS
@given(people=st.lists(person, min_size=1, max_size=10))
def test_every_degenerate_generated_drop_publishes(kind, one_level, people):
    publishes(people, kind, one_level)

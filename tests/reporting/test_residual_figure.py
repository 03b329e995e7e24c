"""The proportional-hazards residual figure at any size (``reporting/figures/models.py``)."""

import numpy as np

from trial_outcomes.reporting.figures.models import VECTOR_POINTS, ResidualPanel, SchoenfeldSpec, draw, thinned


def _spec(n: int) -> SchoenfeldSpec:
    rng = np.random.default_rng(n)
    km = np.sort(rng.uniform(0, 1, n))
    panel = ResidualPanel(
        "Disease status: Primary refractory", list(km), list(km * 24), list(rng.normal(0.3, 1, n)), 0.3
    )
    return SchoenfeldSpec("Scaled Schoenfeld residuals", [panel])


def test_few_residuals_are_vector_points_and_many_are_one_image():
    """Up to VECTOR_POINTS residuals each is an SVG element; 40,000 (a panel at 100,000
    subjects) are drawn as one embedded image, so the figure stays small (it was 12 MB)."""
    small = draw(_spec(200)).decode()
    assert "<image" not in small
    large = draw(_spec(40_000))
    assert b"<image" in large
    assert len(large) < 400_000
    assert VECTOR_POINTS < 40_000


def test_thinned_keeps_the_ends_and_at_most_the_points_asked():
    x = np.arange(10_001, dtype=float)
    tx, ty = thinned(x, x * 2, most=500)
    assert len(tx) <= 500
    assert (tx[0], tx[-1]) == (0.0, 10_000.0)
    assert np.array_equal(ty, tx * 2)
    short = np.arange(10.0)
    assert thinned(short, short, most=500)[0] is short

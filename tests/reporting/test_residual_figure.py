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


def test_running_mean_is_the_centred_window_mean():
    """Worked example: y = 1..5 in x order, window 3 (a fifth of 5 points, at least 3),
    ends padded with the first and last value: means of (1,1,2), (1,2,3), (2,3,4),
    (3,4,5), (4,5,5) = 4/3, 2, 3, 4, 14/3. On 10,000 points it equals the window mean
    taken point by point."""
    from trial_outcomes.reporting.figures.models import running_mean

    x = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    xs, ys = running_mean(x, x.copy())
    assert np.allclose(xs, [1, 2, 3, 4, 5]) and np.allclose(ys, [4 / 3, 2, 3, 4, 14 / 3])
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1, 10_000), rng.normal(0, 1, 10_000)
    xs, ys = running_mean(x, y)
    ordered = y[np.argsort(x, kind="stable")]
    k = 2001
    padded = np.concatenate([np.full(k // 2, ordered[0]), ordered, np.full(k // 2, ordered[-1])])
    expected = [padded[i : i + k].mean() for i in range(0, 10_000, 997)]
    assert np.allclose(ys[::997], expected, atol=1e-12)

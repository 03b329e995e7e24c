"""The multivariable models at their edges (R's numbers are in test_models_reference.py):
what is left out and why, degenerate trials that must still publish, and the plan key."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.builders import Trial
from trial_outcomes.analysis.cox import fit_cox
from trial_outcomes.analysis.fine_gray import censoring_left_limits, fine_gray
from trial_outcomes.analysis.models import design, fine_gray_subgroups, multivariable_cox, stratified_logrank
from trial_outcomes.contracts import FineGraySubgroups, MultivariableModels, PhTests, StratifiedLogrank

COVARIATES = ("AGEGR1", "DISSTAT", "PRHSCTFL", "bm_blasts_ge50", "CD19PCT")


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["USUBJID", "_time", "_event", "g", "CD19PCT"], orient="row")


def test_a_level_without_events_is_empty_and_its_subjects_leave_the_model():
    """Level c has no events: its ratio is empty with the reason, and the model is the one
    without its two subjects (what R's fit converges to as that coefficient runs to
    minus infinity). A null CD19 share leaves one subject out, and that is said."""
    rows = frame(
        [
            ("1", 5.0, 1, "a", 1.0),
            ("2", 8.0, 1, "a", 2.0),
            ("3", 3.0, 1, "b", 0.5),
            ("4", 9.0, 0, "b", 1.5),
            ("5", 4.0, 0, "c", 1.0),
            ("6", 7.0, 0, "c", 2.0),
            ("7", 6.0, 1, "b", None),
            ("8", 2.0, 1, "a", 3.0),
        ]
    ).with_columns(pl.col("CD19PCT").cast(pl.Float64))
    d = design(rows, ("g", "CD19PCT"), {}, "_event")
    assert d.reference == {"g": "a"}
    assert d.columns == [("g", "b"), ("CD19PCT", "per unit")]
    assert d.empty == {("g", "c"): "not estimable: no events in this level (its subjects leave the model)"}
    assert sorted(d.frame["USUBJID"].to_list()) == ["1", "2", "3", "4", "8"]
    assert d.notes == ["1 subject(s) without a value of a covariate left out"]


def test_a_covariate_with_one_level_is_left_out_with_the_reason():
    rows = frame([("1", 5.0, 1, "a", 1.0), ("2", 8.0, 1, "a", 2.0), ("3", 3.0, 0, "a", 0.5)])
    d = design(rows, ("g", "CD19PCT"), {}, "_event")
    assert d.columns == [("CD19PCT", "per unit")]
    assert d.dropped == {"g": "g: one level only, left out of the model"}


def test_a_covariate_not_collected_is_left_out_not_every_subject():
    """A red team's plan with BRIDGFL among the covariates, on a drop without the bridging
    column (BRIDGFL empty for every subject): every model had 0 subjects, each covariate
    "one level only". Now the empty covariate alone is left out, said so, and the model
    keeps its three subjects and CD19PCT."""
    rows = frame([("1", 5.0, 1, None, 1.0), ("2", 8.0, 1, None, 2.0), ("3", 3.0, 0, None, 0.5)])
    rows = rows.with_columns(pl.col("g").cast(pl.String))
    d = design(rows, ("g", "CD19PCT"), {}, "_event")
    assert d.columns == [("CD19PCT", "per unit")]
    assert d.dropped == {"g": "g: not collected (no subject has a value), left out of the model"}
    assert d.frame.height == 3 and d.notes == ["g: not collected (no subject has a value), left out of the model"]


def test_the_reference_level_without_events_drops_the_covariate():
    rows = frame([("1", 5.0, 0, "a", 1.0), ("2", 8.0, 0, "a", 2.0), ("3", 3.0, 1, "b", 0.5), ("4", 4.0, 1, "b", 1.0)])
    d = design(rows, ("g",), {"g": "a"}, "_event")
    assert d.columns == []
    assert d.dropped == {"g": "g: no events in the reference level (a), left out of the model"}


def test_fine_gray_without_competing_events_is_cox():
    """With no competing event every weight is 1 and the risk sets are Cox's: crr's
    coefficients are coxph's (distinct times: Breslow = Efron), to crr's own
    convergence (gtol 1e-6)."""
    rng = np.random.default_rng(3)
    n = 80
    x = rng.normal(size=(n, 2))
    t = rng.exponential(1 / np.exp(x @ np.array([0.7, -0.4])))
    c = rng.exponential(1.5, n)
    time = np.minimum(t, c)
    cause = (t <= c).astype(int)
    fg = fine_gray(time, cause, x)
    cox = fit_cox(time, cause, x)
    assert fg.converged
    np.testing.assert_allclose(fg.beta, cox.beta, atol=1e-4)


def test_censoring_weights_are_the_left_limit_of_the_censoring_km():
    """Times 1 (censored), 2 (event), 3 (censored), 4 (competing), 5 (censored):
    G(1-) = 1; G(2-) = 1 - 1/5 = 0.8; G(3-) = 0.8; G(4-) = 0.8 (1 - 1/3) = 0.5333;
    G(5-) = 0.5333."""
    g = censoring_left_limits(np.array([1.0, 2, 3, 4, 5]), np.array([0, 1, 0, 2, 0]))
    np.testing.assert_allclose(g, [1, 0.8, 0.8, 0.8 * 2 / 3, 0.8 * 2 / 3])


def _tiny_trial() -> Trial:
    """Four infused subjects, all relapsed disease, one death, no relapse."""
    t = Trial()
    for k, status in enumerate(("relapsed", "relapsed", "relapsed", "relapsed")):
        sid = f"S{k + 1}"
        t.enrol(sid, disease_status=status, age_years=5.0 + 4 * k).infuse(sid).assess(sid, 28, "CR", 0.0)
    t.event("S2", 200, "DEATH", "Sepsis")
    return t


def _valid(frame: pl.DataFrame, schema) -> None:
    schema.validate(frame, cast=True)


def test_a_degenerate_trial_publishes_empty_models_with_their_reasons():
    """One event for five terms and no relapse: every model is empty with the reason, the
    tables keep their contracts, and nothing raises."""
    d = _tiny_trial().derive(cut_day=400)
    tables = multivariable_cox(d.adtte, d.adsl, COVARIATES, {})
    _valid(tables.models, MultivariableModels)
    _valid(tables.ph_tests, PhTests)
    assert tables.models["estimate"].is_null().all()
    notes = dict(
        zip(
            tables.models.select(pl.concat_str("model", "endpoint", "covariate", separator="/")).to_series(),
            tables.models["note"],
            strict=True,
        )
    )
    # one death, in S2 (under 10): the >= 10 level has no event; every subject has relapsed
    # disease: disease status is left out; no relapse: the relapse models have no event
    assert notes["Cox/OS/AGEGR1"] == "not estimable: no events in this level (its subjects leave the model)"
    assert notes["Cox/OS/DISSTAT"] == "DISSTAT: one level only, left out of the model"
    assert notes["Cox/CIR/AGEGR1"] == "fewer than 2 events"
    assert notes["Fine-Gray/CIR/AGEGR1"] == "fewer than 2 events"
    assert tables.ph_tests.height == 0
    fg = fine_gray_subgroups(d.adtte, d.adsl, ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1"), {})
    _valid(fg, FineGraySubgroups)
    logrank = stratified_logrank(d.adtte, d.adsl, ("SEX", "AGEGR1"), ("STRATUM",))
    _valid(logrank, StratifiedLogrank)
    assert logrank["chisq"].is_null().all()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('covariates = ["AGEGR1", "cd19"]', "'cd19' is not a model covariate"),
        ("covariates = []", "name at least one covariate"),
        ('logrank_strata = ["bm_blasts_ge50"]', "is not an ADSL subgroup variable"),
        ("ph_alpha = 1.5", "less than 1"),
        ("ph_alpha = nan", "finite number"),
        ('covariate = ["SEX"]', "unknown key"),
    ],
)
def test_the_models_plan_key_is_validated(tmp_path, text, problem):
    from trial_outcomes.plan import DEFAULT_PLAN, PlanError, load_plan

    plan = DEFAULT_PLAN.read_text().replace("[models]\n", f"[models]\n{text}\n", 1)
    if text.startswith(("covariates", "logrank_strata", "ph_alpha")):  # replace the packaged line, not add a second
        key = text.split(" = ")[0]
        lines = [line for line in plan.splitlines() if not (line.startswith(f"{key} = ") and line != text)]
        plan = "\n".join(lines) + "\n"
    path = tmp_path / "plan.toml"
    path.write_text(plan)
    with pytest.raises(PlanError) as error:
        load_plan(path)
    assert problem in str(error.value)
    assert "models." in str(error.value)


def test_a_plan_without_models_takes_the_defaults(tmp_path):
    from trial_outcomes.plan import DEFAULT_MODEL_COVARIATES, DEFAULT_PLAN, load_plan

    text = DEFAULT_PLAN.read_text()
    start = text.index("[models]")
    end = text.index("[stopping.safety]")
    path = tmp_path / "plan.toml"
    path.write_text(text[:start] + text[end:])
    plan = load_plan(path)
    assert plan.models.covariates == DEFAULT_MODEL_COVARIATES
    assert plan.models.logrank_strata == ("STRATUM",)


def test_collinear_covariates_leave_the_later_column_empty_as_r_gives_na():
    """In these five subjects prior HSCT and marrow blasts >= 50 % coincide: R's coxph gives
    the second NA; here its row is empty with that reason and the first is fitted alone."""
    rows = pl.DataFrame(
        {
            "USUBJID": ["1", "2", "3", "4", "5", "6"],
            "_time": [5.0, 8.0, 3.0, 9.0, 4.0, 7.0],
            "_event": [1, 1, 1, 0, 1, 0],
            "PRHSCTFL": ["Y", "N", "Y", "N", "N", "Y"],
            "bm_blasts_ge50": ["Yes", "No", "Yes", "No", "No", "Yes"],
        }
    )
    d = design(rows, ("PRHSCTFL", "bm_blasts_ge50"), {"bm_blasts_ge50": "No", "PRHSCTFL": "N"}, "_event")
    assert d.columns == [("PRHSCTFL", "Y")]
    assert "collinear" in d.empty[("bm_blasts_ge50", "Yes")]


def test_a_singular_fine_gray_information_is_not_a_crash():
    """Two identical columns: crr's Newton step has no solution; the fit says it did not
    converge (the table then says why) instead of raising."""
    time = np.array([1.0, 2, 3, 4, 5, 6])
    cause = np.array([1, 2, 1, 0, 1, 1])
    x = np.column_stack([[0, 1, 0, 1, 1, 0], [0, 1, 0, 1, 1, 0]]).astype(float)
    fit = fine_gray(time, cause, x)
    assert not fit.converged


def test_every_number_in_a_model_has_its_published_unit():
    """``level_text`` publishes a number's unit (CD19PCT per 10 percentage points, AGE per
    year): each number the models scale has one, so no ratio is published "per unit"."""
    from trial_outcomes.analysis.models import DERIVED_SCALE, PER_UNIT, UNITS, level_text

    assert set(UNITS) == set(DERIVED_SCALE)
    assert level_text("CD19PCT", PER_UNIT) == "per 10 percentage points" and level_text("SEX", "M") == "M"

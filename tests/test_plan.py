"""The analysis plan is validated when it is loaded: a bad plan is refused with a
message naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from trial_outcomes.plan import DEFAULT_PLAN, PlanError, cron_ever_fires, load_plan


def _plan(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "plan.toml"
    text = DEFAULT_PLAN.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_the_packaged_plan_loads_with_its_defaults():
    plan = load_plan()
    assert plan.subgroups == ("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")
    assert plan.landmark_months == (6, 12, 24) and plan.previous_cut == "auto" and not plan.notify.enabled
    assert len(plan.sha256) == 64 and plan.text == DEFAULT_PLAN.read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"AGEGR1"]', '"AGEGR1", "emdx"]', "survival.subgroups: [4] 'emdx' is not an ADSL subgroup variable"),
        (
            "landmark_months = [6, 12, 24]",
            "landmark_months = [12, 3]",
            "survival.landmark_months: landmark months must be increasing",
        ),
        (
            "landmark_months = [6, 12, 24]",
            "landmark_months = [6, 12, 24]\nlandmarks = [3]",
            "survival.landmarks: unknown key",
        ),
        ("p1 = 0.80", "p1 = 0.50", "stopping.efficacy: p1 (0.5) must be above p0 (0.6)"),
        ("threshold = 0.20", "threshold = 1.5", "stopping.safety.threshold: Input should be less than 1"),
        ('cron = "0 6 1 * *"', 'cron = "monthly"', "schedule.cron: 'monthly' is not a cron string"),
        (
            '# model. Example: SEX = "M"',
            'EMDFL = "Y"',
            "forest_reference.EMDFL: not one of the plan's subgroups",
        ),
        ('smtp_host = ""', 'smtp_host = "127.0.0.1"', "notify: smtp_host needs smtp_from and smtp_to"),
        ('previous_cut = "auto"', 'previous_cut = "last"', "comparison.previous_cut: 'last': use auto, none or a cut"),
        ("hsct_landmark_day = 120", "", "survival.hsct_landmark_day: required key is missing"),
        # issue 21: every key's domain
        ("prior_b = 4.5", "prior_b = inf", "stopping.safety.prior_b: Input should be a finite number"),
        ("prior_a = 0.5", "prior_a = nan", "stopping.safety.prior_a: Input should be a finite number"),
        ('cron = "0 6 1 * *"', 'cron = "a b c d e"', "schedule.cron: 'a b c d e' is not a cron string"),
        ('cron = "0 6 1 * *"', 'cron = "0 25 1 * *"', "schedule.cron: '0 25 1 * *' is not a cron string"),
        ('cron = "0 6 1 * *"', 'cron = "0 6 1 * MON-SUX"', "is not a cron string"),
        # the plan red team's February 31: a schedule that never runs (the 31st of April and June too)
        ('cron = "0 6 1 * *"', 'cron = "0 6 31 2 *"', "'0 6 31 2 *' names no day that exists"),
        ('cron = "0 6 1 * *"', 'cron = "0 6 31 4,6 *"', "names no day that exists (day of the month 31 in month 4,6)"),
        (
            'previous_cut = "auto"',
            'previous_cut = "2024-W05-3"',
            "comparison.previous_cut: '2024-W05-3': use auto, none or a cut date",
        ),
        (
            '# model. Example: SEX = "M"',
            'SEX = "Male"',
            "forest_reference.SEX: 'Male' is not a level of SEX; its levels: M, F",
        ),
        (
            'webhook_url = ""',
            'webhook_url = "https://hooks.example/a b"',
            "webhook_url 'https://hooks.example/a b': contains a space",
        ),
        ('webhook_url = ""', 'webhook_url = "https://"', "has no host"),
        ('webhook_url = ""', 'webhook_url = "https://h:99999/x"', "not a URL"),
        (
            "smtp_to = []",
            'smtp_to = ["dsmb@trial.example\\r\\nBcc: spy@evil.example"]',
            "smtp_to[0]",
        ),
        ('smtp_from = ""', 'smtp_from = "a@b.example, c@d.example"', "smtp_from 'a@b.example, c@d.example' is not one"),
        ("smtp_port = 25", 'smtp_port = 25\nsmtp_user_env = "$(whoami)"', "is not an environment variable name"),
        ("retry_wait_seconds = 2.0", "retry_wait_seconds = -1", "notify.retry_wait_seconds"),
        # a value of another type is refused, never converted (min_evaluable = true ran as 1)
        ("min_evaluable = 6", "min_evaluable = true", "stopping.safety.min_evaluable: Input should be a valid integer"),
        ("threshold = 0.20", 'threshold = "0.20"', "stopping.safety.threshold: Input should be a valid number"),
        ("threshold = 0.20", "threshold = true", "stopping.safety.threshold: Input should be a valid number"),
        ("window_days = 30", "window_days = 30.0", "stopping.safety.window_days: Input should be a valid integer"),
        ("landmark_months = [6, 12, 24]", 'landmark_months = [6, "12"]', "survival.landmark_months.1"),
        ("smtp_port = 25", 'smtp_port = "25"', "notify.smtp_port: Input should be a valid integer"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_key(tmp_path, old, new, message):
    with pytest.raises(PlanError) as caught:
        load_plan(_plan(tmp_path, old, new))
    assert message in str(caught.value) and str(tmp_path / "plan.toml") in str(caught.value)


def test_a_plan_that_is_not_toml_or_not_there_is_refused(tmp_path):
    (tmp_path / "bad.toml").write_text("[survival\nsubgroups = [")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(tmp_path / "bad.toml")
    with pytest.raises(PlanError, match="cannot be read"):
        load_plan(tmp_path / "missing.toml")


def test_any_adsl_subgroup_and_other_landmarks_are_accepted(tmp_path):
    plan = load_plan(_plan(tmp_path, '"AGEGR1"]', '"AGEGR1", "EMDFL", "STRATUM"]'))
    assert plan.subgroups[-2:] == ("EMDFL", "STRATUM")


def test_a_plan_naming_a_variable_by_its_name_before_contract_version_4_is_told_the_new_name(tmp_path):
    with pytest.raises(PlanError) as caught:
        load_plan(_plan(tmp_path, '"AGEGR1"]', '"AGEGR1", "prior_hsct"]'))
    assert "'prior_hsct' is now 'PRHSCTFL'" in str(caught.value)


def test_an_efficacy_rule_without_a_design_in_the_target_enrolment_is_refused(tmp_path):
    """A red team's plan (p0 0.40, p1 0.55, alpha 0.05, beta 0.10) loaded, then stopped
    every run at the stopping rules with nothing published: the search stopped at n = 90.
    R's exhaustive search (``simon_optimal`` of qc/qc.R) finds no design up to 90, 22/52
    and 47/99 up to 100, and 19/45 and 49/104 up to 120. So with the target enrolment of
    120 the plan loads and the rule uses 19/45, 49/104; with a target of 90 it is refused
    at load, naming the key."""
    from trial_outcomes.designs import search_limit, simon_design

    old = "p0 = 0.60\np1 = 0.80\nalpha = 0.05\nbeta = 0.20"
    new = "p0 = 0.40\np1 = 0.55\nalpha = 0.05\nbeta = 0.10"
    plan = load_plan(_plan(tmp_path, old, new))
    design = simon_design(plan.efficacy.p0, plan.efficacy.p1, 0.05, 0.10, search_limit(plan.conduct.target_enrolment))
    assert (design.r1, design.n1, design.r, design.n) == (19, 45, 49, 104)
    smaller = simon_design(0.40, 0.55, 0.05, 0.10, 100)
    assert (smaller.r1, smaller.n1, smaller.r, smaller.n) == (22, 52, 47, 99)
    path = tmp_path / "small.toml"
    path.write_text(_plan(tmp_path, old, new).read_text().replace("target_enrolment = 120", "target_enrolment = 90"))
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert "stopping.efficacy: no Simon optimal design with n <= 90 for p0 0.4, p1 0.55" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # monitoring would never start: 1000 evaluable of 120 planned
        ("min_evaluable = 6", "min_evaluable = 1000", "min_evaluable 1000 is above conduct.target_enrolment 120"),
        # by hand: 120 events of 120 under Beta(0.5, 1000) is Beta(120.5, 1000), mean 0.1075 and sd 0.0093, so
        # P(rate > 0.2) is nil, never above 0.90
        ("prior_b = 4.5", "prior_b = 1000", "stopping.safety: the rule can never stop"),
        # Beta(120.5, 4.5) puts almost no mass above 0.999 (its density near 1 goes as (1 - x)^3.5)
        ("threshold = 0.20", "threshold = 0.999", "stopping.safety: the rule can never stop"),
        # a range written in 10^6/kg, and a B-cell limit in cells/L: every dose above the range,
        # every subject aplastic (a red team's)
        ("dose_low_per_kg = 0.2e6", "dose_low_per_kg = 0.2", "labs.dose_low_per_kg: Input should be greater than"),
        ("bcell_aplasia_below = 50.0", "bcell_aplasia_below = 5e7", "labs.bcell_aplasia_below: Input should be less"),
    ],
)
def test_a_safety_rule_that_can_never_stop_or_a_limit_in_another_unit_is_refused(tmp_path, old, new, message):
    """A red team's plans published a safety rule that could never stop, read as active, and
    limits in another unit that put every subject on one side; each is refused at load."""
    with pytest.raises(PlanError) as caught:
        load_plan(_plan(tmp_path, old, new))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("cron", "fires"),
    [
        ("0 6 29 2 *", True),  # February 29 comes in a leap year
        ("0 6 31 4,7 *", True),  # July 31
        ("0 6 31 2/2 *", True),  # months 2, 4, ..., 12: August 31
        ("0 6 31 4/3 *", True),  # months 4, 7, 10: July 31
        ("0 6 31 2 MON", True),  # day or weekday: every Monday of February
        ("0 6 31 2 *", False),
        ("0 6 31 4,6,9,11 *", False),
        ("0 6 30 FEB *", False),
    ],
)
def test_a_cron_that_names_no_real_day_is_told_apart(cron, fires):
    """Month lengths: 30 days in April, June, September, November; February at most 29."""
    assert cron_ever_fires(cron.split()) is fires

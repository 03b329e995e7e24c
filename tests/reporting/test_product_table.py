"""The intention-to-treat table's product rows: a pending product is awaited only while
its subject is. Study days, day 0 = 2021-01-01."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from tests.builders import Trial
from trial_outcomes.reporting.content import Table
from trial_outcomes.reporting.efficacy import PENDING_NOT_AWAITED, product_block


def _rows(cut_day: int) -> dict[str, str]:
    """S1: apheresis day -30, released day -12, infused day 0. S2: apheresis day -25,
    product pending, dies on day 5 (the file's reason not infused: DEATH). S3: apheresis
    day -20, product pending, alive and awaiting infusion."""
    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1")
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "PENDING", not_infused="DEATH")
    t.event("S2", 5, "DEATH", "Progression", category="LEUKEMIA")
    t.enrol("S3", enrol_day=-35).apheresis("S3", -20, "PENDING")
    adsl = t.derive(cut_day=cut_day).adsl
    table = product_block(SimpleNamespace(adsl=adsl, lacks=lambda name: False))  # type: ignore[arg-type]
    assert isinstance(table, Table)
    return {str(row[0]).strip(): str(row[1]) for row in table.rows}


def test_a_product_pending_for_a_subject_who_died_is_not_counted_as_awaited():
    """Day 10: of the 3 apheresed, S1's product released (1, 33.3 %), S3's pending and
    awaited (1, 33.3 %), S2's never completed because S2 died on day 5 (1, 33.3 %); the
    not-infused rows give the death (1 of 2) and the one awaiting (1 of 2)."""
    rows = _rows(10)
    assert rows["Product: Released"].startswith("1 (33.3")
    assert rows["Product: Pending at the cut, subject awaiting infusion"].startswith("1 (33.3")
    assert rows[f"Product: {PENDING_NOT_AWAITED}"].startswith("1 (33.3")
    assert rows["Death"].startswith("1 (50.0") and rows["Awaiting infusion at the cut"].startswith("1 (50.0")


def test_before_the_death_both_pending_products_are_awaited():
    """Day 0: S2 is alive, so both pending products are awaited (2 of 3, 66.7 %) and no
    product is counted as abandoned."""
    rows = _rows(0)
    assert rows["Product: Pending at the cut, subject awaiting infusion"].startswith("2 (66.7")
    assert f"Product: {PENDING_NOT_AWAITED}" not in rows
    assert rows["Awaiting infusion at the cut"].startswith("2 (100")


def test_a_subject_not_infused_without_a_reason_in_the_apheresis_file_has_the_follow_ups():
    """Day 10: S4, enrolled and never apheresed, withdrew on day -5 (before infusion); S5,
    apheresed with no reason not infused, was lost on day -3. Both are counted by the
    follow-up's reason (the disposition table's: withdrawal 1, lost 1, of the 4 not
    infused), not as one "No reason in the apheresis file" row (a reviewer's report gave
    "Withdrawal 2" here and "Withdrawal before infusion 5" in the disposition table)."""
    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1")
    t.enrol("S2", enrol_day=-35).apheresis("S2", -25, "PENDING", not_infused="DEATH")
    t.event("S2", 5, "DEATH", "Progression", category="LEUKEMIA")
    t.enrol("S3", enrol_day=-35).apheresis("S3", -20, "PENDING")
    t.enrol("S4", enrol_day=-35).event("S4", -5, "WITHDRAWAL", "Guardian withdrew consent before infusion")
    t.enrol("S5", enrol_day=-35).apheresis("S5", -20, "RELEASED", released=-8).event("S5", -3, "LOST")
    adsl = t.derive(cut_day=10).adsl
    table = product_block(SimpleNamespace(adsl=adsl, lacks=lambda name: False))  # type: ignore[arg-type]
    assert isinstance(table, Table)
    rows = {str(row[0]).strip(): str(row[1]) for row in table.rows}
    assert rows["Not infused"].startswith("4 (80.0")
    assert rows["No apheresis-file reason at the cut; follow-up: Withdrawal before infusion"].startswith("1 (25.0")
    assert rows["No apheresis-file reason at the cut; follow-up: Lost before infusion"].startswith("1 (25.0")
    assert not any(label.startswith("No reason in the apheresis file") for label in rows)


def test_a_subject_not_infused_without_any_reason_still_has_a_row():
    """The same trial with S4's follow-up reason removed from ADSL (``NINFCAT`` null): S4
    is counted in a row of its own, so the rows under "Not infused" add up to 4."""
    t = Trial()
    t.enrol("S1", enrol_day=-35).apheresis("S1", -30, "RELEASED", released=-12).infuse("S1")
    t.enrol("S4", enrol_day=-35).event("S4", -5, "WITHDRAWAL", "Guardian withdrew consent before infusion")
    adsl = t.derive(cut_day=10).adsl
    adsl = adsl.with_columns(
        pl.when(pl.col("USUBJID") == "S4").then(None).otherwise(pl.col("NINFCAT")).alias("NINFCAT")
    )
    table = product_block(SimpleNamespace(adsl=adsl, lacks=lambda name: False))  # type: ignore[arg-type]
    assert isinstance(table, Table)
    rows = {str(row[0]).strip(): str(row[1]) for row in table.rows}
    assert rows["Not infused"].startswith("1 (50.0")
    assert rows["No apheresis-file reason at the cut, none in the follow-up"].startswith("1 (100")

"""Issue 21, whole runs: each attack through `run_pipeline`, refused with a one-line
message naming where, the cut published earlier byte-identical; or handled as stated."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import file_hashes, plan_with_notify
from trial_outcomes.pipelines.runner import RunOutcome, run_pipeline

pytestmark = pytest.mark.slow
CUT = "2023-12-31"


@pytest.fixture
def published(small_drop_master, tmp_path) -> tuple[Path, Path]:
    """A good drop and an output folder in which its cut is published."""
    drop = tmp_path / "drop"
    shutil.copytree(small_drop_master, drop)
    out = tmp_path / "out"
    assert run_pipeline(drop, out, CUT).success
    return drop, out


def _refused(drop: Path, out: Path, *fragments: str) -> str:
    before = file_hashes(out / ".versions")
    outcome = run_pipeline(drop, out, CUT, supersede="the red team's attack")
    assert not outcome.success
    message = "\n".join(outcome.failures)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message
    assert file_hashes(out / ".versions") == before
    return message


def _replace_id(drop: Path, old: str, new: str) -> None:
    for path in drop.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(f"{old},", f"{new},"), encoding="utf-8")


def test_a_cyrillic_look_alike_id_is_refused(published):
    """ВR-001 (Cyrillic В) became a 121st subject."""
    drop, out = published
    first = pl.read_csv(drop / "enrolment.csv", infer_schema=False)["subject_id"][0]
    enrol = (drop / "enrolment.csv").read_text(encoding="utf-8")
    (drop / "enrolment.csv").write_text(enrol.replace(f"{first},", "\u0412" + first[1:] + ",", 1), encoding="utf-8")
    _refused(drop, out, "enrolment.csv, row 2, column subject_id", "mixes Latin letters with Cyrillic")


def test_a_grade_5_ae_of_a_subject_alive_is_refused(published):
    drop, out = published
    ae = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    dead = set(pl.read_csv(drop / "followup.csv", infer_schema=False).filter(pl.col("event") == "DEATH")["subject_id"])
    alive = ae.filter(~pl.col("subject_id").is_in(list(dead))).row(0, named=True)
    ae.with_columns(
        pl.when((pl.col("subject_id") == alive["subject_id"]) & (pl.col("ae_id") == alive["ae_id"]))
        .then(pl.lit("5"))
        .otherwise(pl.col("grade"))
        .alias("grade")
    ).write_csv(drop / "adverse_events.csv")
    _refused(drop, out, "grade 5 (fatal) adverse event, but followup has no DEATH", alive["subject_id"])


def test_the_same_drop_from_another_folder_is_the_same_publication(published, tmp_path):
    """The report printed the folder name, so a renamed folder published a new version."""
    drop, out = published
    renamed = tmp_path / "export-2024-01-05"
    shutil.copytree(drop, renamed)
    before = file_hashes(out / ".versions")
    outcome = run_pipeline(renamed, out, CUT, supersede="re-export")
    assert outcome.success and file_hashes(out / ".versions") == before
    assert any("nothing to supersede" in w for w in outcome.warnings)


def test_a_users_own_link_at_the_cut_is_refused(published, tmp_path):
    drop, out = published
    mine = tmp_path / "mine"
    mine.mkdir()
    link = out / "2024-01-31"
    os.symlink(mine, link)
    outcome = run_pipeline(drop, out, "2024-01-31")
    assert not outcome.success and "is a link the pipeline did not make" in "\\n".join(outcome.failures)
    assert os.readlink(link) == str(mine)


def test_a_file_at_locks_is_one_line(published):
    drop, out = published
    shutil.rmtree(out / ".locks")
    (out / ".locks").write_text("not a folder")
    outcome = run_pipeline(drop, out, CUT)
    assert not outcome.success
    assert outcome.failures == [
        f"{out / '.locks'} is not the pipeline's lock folder (a file or a link is there); move it away and run again"
    ]


def test_a_drop_with_chinese_ids_publishes(published, tmp_path):
    """Ids from a GB18030 export: the PDF sets them in a CJK font, or says on page 1 it has none."""
    from pypdf import PdfReader

    from trial_outcomes.reporting.fonts import NO_CJK_FONT, cjk_font_dir

    drop, _ = published
    chinese = tmp_path / "chinese"
    shutil.copytree(drop, chinese)
    first = pl.read_csv(chinese / "enrolment.csv", infer_schema=False)["subject_id"][0]
    _replace_id(chinese, first, "患者-001")
    out = tmp_path / "out-cn"
    outcome = run_pipeline(chinese, out, CUT)
    assert outcome.success, outcome.failures
    text = " ".join(page.extract_text() for page in PdfReader(out / CUT / "report.pdf").pages)
    if cjk_font_dir() is None:
        assert NO_CJK_FONT.split(":")[0] in " ".join(text.split())
    else:
        assert "患者-001" in text


def test_the_drops_warnings_reach_the_report_without_a_subject(drop, tmp_path):
    """A file never read (followup_update.csv with a death), a column outside the contract
    (enrolment.csv site_note) and a withdrawal dated before the subject's last
    assessment: the cut publishes, the run warns, and page 1 of both reports says 3 data
    queries are open; the About table states each. The subject withdrawn is named in
    neither report's query (rows are; the run's check names the subject)."""
    (drop / "followup_update.csv").write_text("subject_id,event_date,event\nBR-001,2023-01-01,DEATH\n")
    enrol = pl.read_csv(drop / "enrolment.csv", infer_schema=False)
    enrol.with_columns(pl.lit("seen").alias("site_note")).write_csv(drop / "enrolment.csv")
    assessments = pl.read_csv(drop / "assessments.csv", infer_schema=False)
    subject = assessments["subject_id"][0]
    last = assessments.filter(pl.col("subject_id") == subject)["assessment_date"].sort()[-1]
    followup = pl.read_csv(drop / "followup.csv", infer_schema=False)
    before_last = (dt.date.fromisoformat(last) - dt.timedelta(days=1)).isoformat()
    row = {**dict.fromkeys(followup.columns), "subject_id": subject, "event_date": before_last, "event": "WITHDRAWAL"}
    withdrawal = pl.DataFrame([row], schema=dict.fromkeys(followup.columns, pl.String))
    pl.concat([followup, withdrawal]).write_csv(drop / "followup.csv")
    out = tmp_path / "out"
    outcome = run_pipeline(drop, out, CUT)
    assert outcome.success, outcome.failures
    warned = "\n".join(outcome.warnings)
    for check in ("known_files", "known_columns", "no_assessment_after_withdrawal"):
        assert check in warned
    manifest = json.loads((out / CUT / "manifest.json").read_text())
    assert [q["check"] for q in manifest["data_drop"]["data_queries"]] == [
        "known_files",
        "known_columns",
        "no_assessment_after_withdrawal",
    ]
    for stem in ("report", "report_open"):
        html = (out / CUT / f"{stem}.html").read_text(encoding="utf-8")
        assert "Data queries on this drop" in html and "3 open, none blocking" in html
        assert "never read: followup_update.csv" in html
        assert "dropped unread: site_note" in html
        query = html[html.index("Data queries raised on this drop") :]
        query = query[: query.index("</table>")]
        assert "after the subject&#39;s withdrawal" in query or "after the subject's withdrawal" in query
        assert subject not in query


def _strict_futility_run(drop: Path, out: Path, url: str) -> RunOutcome:
    """The cut published into ``out`` under a strict futility rule (p0 0.90, p1 0.98: the
    small drop's responders are far fewer, so the boundary is crossed) whose alert goes
    to the webhook at ``url``; the run succeeded."""
    plan = plan_with_notify(out.with_name("plan.toml"), url)
    plan.write_text(plan.read_text().replace("p0 = 0.60", "p0 = 0.90").replace("p1 = 0.80", "p1 = 0.98"))
    outcome = run_pipeline(drop, out, CUT, plan=str(plan))
    assert outcome.success, outcome.failures
    return outcome


def test_supportive_care_coded_as_new_therapy_is_a_query_on_page_1_and_in_the_alert(drop, tmp_path, webhook):
    """A red team's "Tocilizumab" coded NEW_THERAPY four days after a subject's first
    infusion ended that subject's treatment-emergent window and response attribution,
    which moved both stopping rules, and nothing said so. The cut publishes as exported
    (the numbers are the drop's), the run warns (``trial_drop:new_therapy_plausible``, with
    file, row, value and subject), and page 1 of both reports counts the query, whose row in
    the About table names the row, not the subject. A boundary crossed on that drop (here
    a strict futility rule, p0 0.90: the small drop's responders are far fewer) is
    announced with the query beside it."""
    infusion = pl.read_csv(drop / "infusion.csv", infer_schema=False)
    first = infusion.sort("infusion_date").row(0, named=True)
    subject, infused = first["subject_id"], first["infusion_date"]
    followup = pl.read_csv(drop / "followup.csv", infer_schema=False)
    day_4 = (dt.date.fromisoformat(infused) + dt.timedelta(days=4)).isoformat()
    row = {
        **dict.fromkeys(followup.columns),
        "subject_id": subject,
        "event_date": day_4,
        "event": "NEW_THERAPY",
        "detail": "Tocilizumab",
    }
    pl.concat([followup, pl.DataFrame([row], schema=dict.fromkeys(followup.columns, pl.String))]).write_csv(
        drop / "followup.csv"
    )
    url, posts = webhook
    out = tmp_path / "out"
    outcome = _strict_futility_run(drop, out, url)
    assert len(posts) == 1 and "BOUNDARY CROSSED" in posts[0]["text"]
    assert "The drop has 1 open data query" in posts[0]["text"]
    assert "- new therapies that may be supportive care or a transplant" in posts[0]["text"]
    warned = "\n".join(outcome.warnings)
    assert "new_therapy_plausible" in warned
    assert f"followup.csv, row {followup.height + 2}, column detail, value 'Tocilizumab', subject {subject}" in warned
    manifest = json.loads((out / CUT / "manifest.json").read_text())
    assert [q["check"] for q in manifest["data_drop"]["data_queries"]] == ["new_therapy_plausible"]
    for stem in ("report", "report_open"):
        html = (out / CUT / f"{stem}.html").read_text(encoding="utf-8")
        assert "Data queries on this drop" in html and "1 open, none blocking" in html
        assert "new therapies that may be supportive care or a transplant" in html
        query = html[html.index("Data queries raised on this drop") :]
        query = query[: query.index("</table>")]
        assert subject not in query
        # the open report names the file without its row, which a holder of the drop could
        # trace to the subject (a red team's)
        row = f"followup.csv row {followup.height + 2}"
        assert (row in query) == (stem == "report") and "followup.csv" in query


def test_a_toxicity_after_a_new_therapy_and_a_subject_left_awaiting_infusion_are_queries_on_page_1(drop, tmp_path):
    """Two red-team attacks the stopping rules and rates took without a word. One: a new
    therapy on day 24 after a subject's first infusion, then a related grade-4 CRS on day
    26: the therapy ends the treatment-emergent window (endpoints v3), so the safety rule
    counts no event and keeps the subject in its denominator. Two: a never-infused
    subject's only follow-up row (a withdrawal) removed: "awaiting infusion" two years on,
    pending, out of the intention-to-treat denominator. The cut publishes as exported; the
    run warns (``trial_drop:rule_toxicity_before_other_therapy`` and
    ``trial_drop:awaiting_infusion_plausible``, with file, row, value and subject), the
    manifest lists both queries, and page 1 of both reports counts them, says the first
    beside the stopping rules, and names rows, not subjects, in the About table. The
    therapy on day 24 comes before the subject's day-28 remission, which it takes from the
    CAR-T: queried too (``trial_drop:new_therapy_plausible``, since the thirty-ninth
    session)."""
    cut = dt.date.fromisoformat(CUT)
    enrolment = pl.read_csv(drop / "enrolment.csv", infer_schema=False)
    infusion = pl.read_csv(drop / "infusion.csv", infer_schema=False)
    followup = pl.read_csv(drop / "followup.csv", infer_schema=False)
    apheresis = pl.read_csv(drop / "apheresis.csv", infer_schema=False)
    # a subject never infused, with no apheresis row, enrolled long before the cut
    waiting = (
        enrolment.join(infusion, on="subject_id", how="anti")
        .join(apheresis, on="subject_id", how="anti")
        .filter(pl.col("enrol_date").str.to_date() < cut - dt.timedelta(days=365))
        .row(0, named=True)
    )
    # an infused subject with no death, HSCT or new therapy in its first 60 days
    first = infusion.group_by("subject_id").agg(pl.col("infusion_date").str.to_date().min().alias("day0"))
    ended = followup.filter(pl.col("event").is_in(["DEATH", "HSCT", "NEW_THERAPY"])).with_columns(
        pl.col("event_date").str.to_date()
    )
    late = (
        first.join(ended, on="subject_id", how="left")
        .group_by("subject_id", "day0")
        .agg((pl.col("event_date") - pl.col("day0")).dt.total_days().min().alias("_first_end"))
    )
    subject, day0 = (
        late.filter((pl.col("_first_end").is_null() | (pl.col("_first_end") > 60)) & (pl.col("day0") < cut))
        .sort("subject_id")
        .select("subject_id", "day0")
        .row(0)
    )
    therapy = {**dict.fromkeys(followup.columns), "subject_id": subject, "event": "NEW_THERAPY"}
    therapy.update(event_date=(day0 + dt.timedelta(days=24)).isoformat(), detail="Salvage chemotherapy")
    followup = followup.filter(pl.col("subject_id") != waiting["subject_id"])
    pl.concat([followup, pl.DataFrame([therapy], schema=dict.fromkeys(followup.columns, pl.String))]).write_csv(
        drop / "followup.csv"
    )
    events = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    crs = {**dict.fromkeys(events.columns), "subject_id": subject, "ae_id": "AE-RED-1"}
    crs.update(
        term="Cytokine release syndrome",
        soc="Immune system disorders",
        onset_date=(day0 + dt.timedelta(days=26)).isoformat(),
        resolution_date=(day0 + dt.timedelta(days=30)).isoformat(),
        grade="4",
        serious="Y",
        related="Y",
        tocilizumab="Y",
        corticosteroids="N",
    )
    pl.concat([events, pl.DataFrame([crs], schema=dict.fromkeys(events.columns, pl.String))]).write_csv(
        drop / "adverse_events.csv"
    )
    out = tmp_path / "out"
    outcome = run_pipeline(drop, out, CUT)
    assert outcome.success, outcome.failures
    warned = "\n".join(outcome.warnings)
    assert "rule_toxicity_before_other_therapy" in warned and "awaiting_infusion_plausible" in warned
    assert f"adverse_events.csv, row {events.height + 2}, column onset_date, value '{crs['onset_date']}', " in warned
    assert f"subject {subject}" in warned and f"subject {waiting['subject_id']}" in warned
    manifest = json.loads((out / CUT / "manifest.json").read_text())
    assert [q["check"] for q in manifest["data_drop"]["data_queries"]] == [
        "new_therapy_plausible",
        "rule_toxicity_before_other_therapy",
        "awaiting_infusion_plausible",
    ]
    waiting_row = enrolment["subject_id"].to_list().index(waiting["subject_id"]) + 2
    for stem in ("report", "report_open"):
        html = (out / CUT / f"{stem}.html").read_text(encoding="utf-8")
        assert "Data queries on this drop" in html and "3 open, none blocking" in html
        assert "falls on or after its subject&#39;s first HSCT or new therapy" in html or (
            "falls on or after its subject's first HSCT or new therapy" in html
        )
        query = html[html.index("Data queries raised on this drop") :]
        query = query[: query.index("</table>")]
        closed = stem == "report"  # the open report names the files without their rows
        assert (f"adverse_events.csv row {events.height + 2}" in query) == closed and "adverse_events.csv" in query
        assert (f"enrolment.csv row {waiting_row}" in query) == closed and "enrolment.csv" in query
        assert subject not in query and waiting["subject_id"] not in query


def test_the_deaths_queries_page_1_counts_are_in_the_manifest_and_the_alert(drop, tmp_path, webhook):
    """A red team's seed-23 drop: page 1 said "1 open" data query, two deaths whose cause
    was coded UNKNOWN beside the text "Relapsed leukemia", while the manifest had no
    query, and a boundary alert, which reads the manifest, would have said none. One death
    of the small drop coded UNKNOWN: page 1 counts 1 death's query; the manifest lists it
    beside the drop's (none) under ``death_queries``, in page 1's words, and the alert of a
    boundary crossed (a strict futility rule, as above) names it."""
    followup = pl.read_csv(drop / "followup.csv", infer_schema=False)
    death = followup.with_row_index().filter(pl.col("event") == "DEATH").row(0, named=True)["index"]
    coded = pl.Series(["UNKNOWN" if i == death else c for i, c in enumerate(followup["cause_category"])])
    followup.with_columns(coded.alias("cause_category")).write_csv(drop / "followup.csv")
    url, posts = webhook
    out = tmp_path / "out"
    _strict_futility_run(drop, out, url)
    title = "1 death(s) whose cause is uncategorised (coded UNKNOWN, blank or unclassifiable) or coded against its text"
    manifest = json.loads((out / CUT / "manifest.json").read_text())
    assert manifest["data_drop"].get("data_queries") is None
    assert manifest["data_drop"]["death_queries"] == [title]
    html = (out / CUT / "report.html").read_text(encoding="utf-8")
    assert f"1 open, none blocking: {title}" in html
    assert len(posts) == 1 and "The drop has 1 open data query" in posts[0]["text"]
    assert f"- {title}" in posts[0]["text"]

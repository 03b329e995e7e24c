"""Published cuts are never mixed or lost, and what is published is safe: one drop
per cut unless superseded with a reason, identical re-runs publish nothing new, a
run's work folder starts empty, a user's folder is left alone, identifiers from
outside the contract never reach storage or the UI, spreadsheet formulas are
neutralised and figure labels are text."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.helpers import materialize_cut
from trial_outcomes.analysis.cut_comparison import REVISED_ITEMS
from trial_outcomes.pipelines.runner import run_pipeline

CUT = "2023-12-31"
pytestmark = pytest.mark.slow


def _manifest(out: Path) -> dict:
    return json.loads((out / CUT / "manifest.json").read_text())


def test_another_drop_for_a_published_cut_is_refused_unless_superseded_with_a_reason(drop, tmp_path):
    out = tmp_path / "out"
    assert run_pipeline(drop, out, CUT).success
    first = _manifest(out)
    again = run_pipeline(drop, out, CUT)  # the same drop and cut: nothing new
    assert again.success and sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001"]

    with (drop / "followup.csv").open("a") as handle:  # a corrected export of the same cut
        handle.write("BR-001,2023-12-30,CONTACT,,\n")
    refused = run_pipeline(drop, out, CUT)
    assert not refused.success
    assert "already published from another drop" in "\n".join(refused.failures)
    assert _manifest(out) == first
    # a reason naming a subject is refused at the drop's step: the open report prints it
    named = run_pipeline(drop, out, CUT, supersede="BR-001 contact date corrected")
    assert not named.success
    assert "the --supersede reason names subject(s) BR-001" in "\n".join(named.failures)
    assert _manifest(out) == first

    reason = "site 01 corrected a contact date"
    superseding = run_pipeline(drop, out, CUT, supersede=reason)
    assert superseding.success, superseding.failures
    manifest = _manifest(out)
    assert manifest["supersedes"] == {"version": "v001", "drop_sha256": first["data_drop"]["sha256"], "reason": reason}
    assert manifest["data_drop"]["sha256"] != first["data_drop"]["sha256"]
    assert sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001", "v002"]
    assert json.loads((out / ".versions" / CUT / "v001" / "manifest.json").read_text()) == first  # kept
    html = (out / CUT / "report.html").read_text()
    assert "Supersedes" in html and reason in html and first["data_drop"]["sha256"][:16] in html
    # compared with the version it supersedes (no earlier cut here): the contact added revises
    # nothing v001 published, and the manifest's comparison (with an earlier cut) stays none
    comparison = pl.read_csv(out / CUT / "cut_comparison.csv", infer_schema=False)
    assert set(comparison["previous_cut"]) == {CUT} and set(comparison["previous_version"]) == {"v001"}
    revised = comparison.filter(pl.col("item").is_in(REVISED_ITEMS))
    assert revised.height == len(REVISED_ITEMS) and set(revised["current"]) == {"0"}
    assert manifest["compared_with"] == "none"
    assert "Changes since version v001 of this cut, which this version replaces" in html
    assert "Revised since" not in html


def test_a_refused_supersession_also_names_the_drops_own_faults(drop, tmp_path):
    """A second drop for a published cut whose followup holds a subject never enrolled
    (BR-999): the refusal says the cut is published from another drop and, since
    --supersede would not mend it, what is wrong with this drop; before, the user
    learnt of the fault only after superseding."""
    out = tmp_path / "out"
    assert run_pipeline(drop, out, CUT).success
    first = _manifest(out)
    with (drop / "followup.csv").open("a") as handle:
        handle.write("BR-999,2023-12-30,CONTACT,,\n")
    refused = run_pipeline(drop, out, CUT)
    said = "\n".join(refused.failures)
    assert not refused.success
    assert "already published from another drop" in said
    assert "This drop would be refused anyway" in said and "subject BR-999" in said, said
    assert _manifest(out) == first


def test_a_stale_file_in_the_work_folder_is_never_published(drop, tmp_path):
    out = tmp_path / "out"
    stale = out / ".work" / CUT / "killed-run"
    stale.mkdir(parents=True)
    (stale / "cut_comparison.csv").write_text("item,previous\nstale,1\n")
    assert run_pipeline(drop, out, CUT).success
    assert not (out / CUT / "cut_comparison.csv").exists()
    assert "cut_comparison.csv" not in _manifest(out)["outputs"]


def test_a_users_folder_at_the_cut_is_refused_and_untouched(drop, tmp_path):
    out = tmp_path / "out"
    (out / CUT).mkdir(parents=True)
    (out / CUT / "my_notes.txt").write_text("mine")
    outcome = run_pipeline(drop, out, CUT)
    assert not outcome.success and "a folder the pipeline did not make" in "\n".join(outcome.failures)
    assert [p.name for p in (out / CUT).iterdir()] == ["my_notes.txt"]


def test_columns_outside_the_contract_are_never_stored_shown_or_logged(drop, tmp_path):
    """A name, a date of birth and a hospital number added to enrolment: dropped at
    ingestion with a warning naming the columns, never in the IO manager's storage,
    the published files or the event log."""
    frame = pl.read_csv(drop / "enrolment.csv", infer_schema=False).with_columns(
        pl.lit("Zhang Wei").alias("patient_name"),
        pl.lit("2013-05-06").alias("date_of_birth"),
        pl.lit("MRN-4477").alias("hospital_number"),
    )
    frame.write_csv(drop / "enrolment.csv")
    out = tmp_path / "out"
    with dg.DagsterInstance.ephemeral() as instance:
        result, _ = materialize_cut(drop, out, CUT, instance=instance)
        assert result.success
        checks = {
            c.check_name: c
            for c in result.get_asset_check_evaluations()
            if c.asset_key == dg.AssetKey(["raw", "enrolment"])
        }
        warning = checks["known_columns"]
        assert not warning.passed and "patient_name, date_of_birth, hospital_number" in warning.description
        logged = " ".join(str(record) for record in instance.all_logs(result.run_id))
    assert "Zhang Wei" not in logged and "MRN-4477" not in logged
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"Zhang Wei" not in data and b"MRN-4477" not in data, path


def test_formula_text_from_the_drop_is_neutralised_in_every_csv(drop, tmp_path):
    """An AE term '=HYPERLINK(...)' reaches ae_summary.csv as text, with a quote first."""
    ae = pl.read_csv(drop / "adverse_events.csv", infer_schema=False)
    ae = ae.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit('=HYPERLINK("http://x","y")'))
        .otherwise(pl.col("term"))
        .alias("term")
    )
    ae.write_csv(drop / "adverse_events.csv")
    out = tmp_path / "out"
    assert run_pipeline(drop, out, CUT).success
    for csv in (out / CUT).glob("*.csv"):
        for line in csv.read_text().splitlines():
            for cell in line.split(","):
                assert not cell.lstrip('"').startswith("=HYPERLINK"), (csv.name, line)
    assert "'=HYPERLINK" in (out / CUT / "ae_summary.csv").read_text()


def test_dollar_signs_in_labels_are_text_not_mathtext(drop, tmp_path):
    """A subject id '$\\notacommand$' would stop matplotlib's mathtext parser; as text the
    swimmer plot draws it."""
    for path in sorted(drop.glob("*.csv")):  # every file of the drop, the optional ones too
        path.write_text(path.read_text().replace("BR-001,", "BR-$\\notacommand$,"))
    outcome = run_pipeline(drop, tmp_path / "out", CUT)
    assert outcome.success, outcome.failures


def test_a_drop_changed_while_the_run_read_it_is_not_published(drop, tmp_path, monkeypatch):
    """The files are hashed when the run starts and again before publishing: a file
    rewritten in between (here, by the time publish looks) stops the publication."""
    from trial_outcomes.assets import publish as publish_module

    real = publish_module.drop_files

    def changed(folder: Path) -> dict[str, str]:
        files = real(folder)
        files["followup.csv"] = "0" * 64
        return files

    monkeypatch.setattr(publish_module, "drop_files", changed)
    outcome = run_pipeline(drop, tmp_path / "out", CUT)
    assert not outcome.success
    assert "the drop's files changed while the run read them (followup.csv)" in "\n".join(outcome.failures)
    assert not (tmp_path / "out" / CUT).exists()


def test_an_earlier_cut_published_while_the_run_went_on_is_said(drop, tmp_path, monkeypatch):
    """A red team ran two cuts at once into one folder: the later was published without
    the earlier in its history or comparison, saying nothing. Here 2023-06-30 and
    2023-09-30 are published; a run of 2023-12-31 then does not warn. Another whose
    history was made before 2023-09-30 was published (its steps shown the folder
    without it, as a run that started first) publishes, and warns that its history and
    comparison leave 2023-09-30 out, and to run the cut again."""
    from trial_outcomes.assets import monitoring

    out = tmp_path / "out"
    for cut in ("2023-06-30", "2023-09-30"):
        assert run_pipeline(drop, out, cut).success
    outcome = run_pipeline(drop, out, CUT)
    assert outcome.success and not [w for w in outcome.warnings if "earlier_cuts_included" in w]
    real = monitoring.earlier_cuts
    monkeypatch.setattr(
        monitoring, "earlier_cuts", lambda folder, before: [c for c in real(folder, before) if c != "2023-09-30"]
    )
    outcome = run_pipeline(drop, out, CUT)
    said = [w for w in outcome.warnings if "earlier_cuts_included" in w]
    assert outcome.success and len(said) == 1, outcome.warnings
    assert "data cut 2023-09-30 was published in this folder while this run went on" in said[0]
    assert f"run data cut {CUT} again" in said[0]


def test_a_cli_run_and_a_ui_run_of_the_same_cut_exclude_each_other(drop, tmp_path):
    """The run itself holds the cut's lock (the settings resource), whoever launched it:
    while it is held, a run launched as the daemon launches it fails before any
    step, saying who holds the cut."""
    from trial_outcomes.io.publishing import cut_lock

    out = tmp_path / "out"
    with cut_lock(out, CUT, "a CLI run (process 4242)"):
        result, _ = materialize_cut(drop, out, CUT)
    assert not result.success and not result.get_step_success_events()
    failure = result.get_run_failure_event()
    text = str(failure.event_specific_data) if failure else ""
    assert "is being written" in text and "a CLI run (process 4242)" in text


def test_a_bad_partition_key_fails_before_any_work(drop, tmp_path):
    """'2024-4-1' typed in the UI: one clear failure, no step runs."""
    result, _ = materialize_cut(drop, tmp_path / "out", "2024-4-1")
    assert not result.success and not result.get_step_success_events()
    failure = result.get_run_failure_event()
    assert "data cut '2024-4-1' is not written YYYY-MM-DD" in str(failure.event_specific_data)


@pytest.fixture
def shared_instance_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_cli_runs_are_in_the_shared_instance_the_ui_reads(drop, tmp_path, shared_instance_home):
    out = tmp_path / "out"
    outcome = run_pipeline(drop, out, CUT)
    assert outcome.success
    with dg.DagsterInstance.from_config(str(shared_instance_home)) as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None and run.tags["trial/trigger"] == "cli" and run.tags["dagster/partition"] == CUT
        # the UI's all_outcomes job in its trial_outcomes location: on the Overview timeline, not only in the list
        origin = run.remote_job_origin
        assert origin is not None and (origin.location_name, origin.job_name) == ("trial_outcomes", "all_outcomes")
        assert origin.repository_origin.repository_name == "__repository__"
        shutil.rmtree(out)


def test_the_ui_origin_is_set_only_inside_the_run_and_only_on_its_instance():
    from trial_outcomes.pipelines.runner import runs_of_the_ui_job

    with dg.DagsterInstance.ephemeral() as instance, dg.DagsterInstance.ephemeral() as other:
        with runs_of_the_ui_job(instance):
            assert "create_run_for_job" in vars(instance) and "create_run_for_job" not in vars(other)
        assert "create_run_for_job" not in vars(instance)
        job = dg.define_asset_job("j").resolve(asset_graph=dg.Definitions().resolve_asset_graph())
        assert instance.create_run_for_job(job).remote_job_origin is None


def test_the_stopping_history_spans_the_cuts_of_every_export_folder(drop, tmp_path):
    """Each interim analysis reads the export of its day, in a folder of its own (the
    sensor's landing folder holds one per export): 2021-06-30 from exports/2021-07,
    2022-06-30 from exports/2022-07. The second cut's stopping history holds both cuts,
    and it compares with the first (keyed by the drop folder's name, it held one cut
    and page 1 never showed a trend)."""
    first, second = tmp_path / "exports" / "2021-07", tmp_path / "exports" / "2022-07"
    shutil.copytree(drop, first)
    shutil.copytree(drop, second)
    out = tmp_path / "out"
    outcomes = [run_pipeline(folder, out, cut) for folder, cut in ((first, "2021-06-30"), (second, "2022-06-30"))]
    assert all(o.success for o in outcomes)
    assert outcomes[1].publication == "published v001; compared with the published cut 2021-06-30"
    history = pl.read_csv(out / "2022-06-30" / "stopping_history.csv")
    assert sorted(set(history["cut"])) == ["2021-06-30", "2022-06-30"]
    earlier = history.filter(pl.col("cut") == "2021-06-30").sort("rule_id")
    then = pl.read_csv(out / "2021-06-30" / "stopping_rules.csv").sort("rule_id")
    assert earlier["statistic"].to_list() == then["statistic"].to_list()
    comparison = pl.read_csv(out / "2022-06-30" / "cut_comparison.csv", infer_schema=False)
    assert comparison["previous_cut"][0] == "2021-06-30"
    # a later cut of the same export withdraws and re-dates nothing the earlier one published
    revised = comparison.filter(pl.col("item").is_in(REVISED_ITEMS))
    assert revised.height == len(REVISED_ITEMS) and set(revised["current"]) == {"0"}


def test_a_cut_re_analysed_under_another_plan_records_what_it_revises(drop, tmp_path, capsys):
    """The same drop and cut, published, then run again under a plan with other
    landmarks: a new version whose manifest revises the first, naming the plan's change
    and the files that differ; the CLI says so; the UI's table of published cuts too.
    The same run again publishes nothing new; the packaged plan again makes v003, which
    revises v002 and is compared with it (since 2026-12-06 a version of the same drop under
    another plan or code is compared with the one it replaces: its outputs are not v001's)."""
    from trial_outcomes.assets.publish import published_cuts_table
    from trial_outcomes.cli import main
    from trial_outcomes.plan import DEFAULT_PLAN

    out = tmp_path / "out"
    status = main(["run", "--data", str(drop), "--cut", CUT, "--out", str(out), "--quiet"])
    assert status in (0, 3)  # 3: this small drop crosses the futility boundary at the cut
    plan = tmp_path / "plan.toml"
    text = Path(DEFAULT_PLAN).read_text()
    plan.write_text(text.replace("landmark_months = [6, 12, 24]", "landmark_months = [3, 18]"))
    capsys.readouterr()
    args = ["run", "--data", str(drop), "--cut", CUT, "--out", str(out), "--plan", str(plan), "--quiet"]
    assert main(args) == status
    said = capsys.readouterr().out
    assert "published v002 (the previous, v001, is kept); it revises v001 of the same drop: analysis plan" in said
    revised = _manifest(out)["revises"]
    assert revised["version"] == "v001" and revised["changed"][0].startswith("analysis plan (SHA-256 ")
    # the plan copy, the comparison with v001 and the figures first
    assert "output file(s): analysis_plan.toml, cut_comparison.csv, plots/" in revised["changed"][-1]
    comparison = pl.read_csv(out / CUT / "cut_comparison.csv", infer_schema=False)
    assert set(comparison["previous_version"]) == {"v001"} and comparison["change"][0] == "changed"
    assert "Analysis plan changed since version v001 of this cut" in (out / CUT / "report.html").read_text()
    assert "| v002 |" in published_cuts_table(out) and "| v001: analysis plan |" in published_cuts_table(out)
    assert main(args) == status
    assert "no new version: v002 already holds these outputs" in capsys.readouterr().out
    # the plan put back: v003, compared with v002 (the version the board read last)
    assert main(["run", "--data", str(drop), "--cut", CUT, "--out", str(out), "--quiet"]) == status
    assert "published v003" in capsys.readouterr().out
    assert _manifest(out)["revises"]["version"] == "v002"
    comparison = pl.read_csv(out / CUT / "cut_comparison.csv", infer_schema=False)
    assert set(comparison["previous_version"]) == {"v002"}


def test_the_changes_since_the_previous_cut_name_no_subject_in_the_open_report(drop, tmp_path):
    """A reviewer found the new subjects, deaths and relapses named in the open report's
    table of changes. Published 2021-06-30 then 2023-12-31 in one folder: the closed
    report names them in a table of its own; neither open report (HTML, PDF) names any
    subject of the drop. "Lost or withdrawn" counts the infused, as the disposition
    table does (a subject withdrawn before infusion is "not infused" there)."""
    import subprocess

    out = tmp_path / "out"
    assert run_pipeline(drop, out, "2021-06-30").success
    assert run_pipeline(drop, out, CUT).success
    folder = out / CUT
    comparison = pl.read_csv(folder / "cut_comparison.csv", infer_schema=False)
    assert comparison["previous_cut"][0] == "2021-06-30"
    adsl = pl.read_parquet(folder / "adsl.parquet")
    closed = (folder / "report.html").read_text()
    # the disposition table's own rows (among the infused), as the board reads them
    shown = {
        label: int(re.search(rf"{label}</td><td[^>]*>(\d+) \(", closed).group(1))  # type: ignore[union-attr]
        for label in ("Withdrawn", "Lost to follow-up")
    }
    row = comparison.filter(pl.col("item") == "Lost or withdrawn (infused)").row(0, named=True)
    assert int(row["current"]) == shown["Withdrawn"] + shown["Lost to follow-up"]
    new = comparison.filter(pl.col("item") == "New subjects").row(0, named=True)
    assert int(new["current"]) > 0 and new["change"]
    assert "Subjects new or revised since the interim analysis of 2021-06-30" in closed
    assert new["change"].split(",")[0] in closed
    subjects = adsl["USUBJID"].to_list()
    pdf = subprocess.run(["pdftotext", str(folder / "report_open.pdf"), "-"], capture_output=True, text=True).stdout
    for text in ((folder / "report_open.html").read_text(), pdf):
        assert "Changes since the interim analysis of 2021-06-30" in text
        leaked = [s for s in subjects if s in text]
        assert not leaked, leaked[:5]


def test_an_open_report_naming_a_subject_stops_the_run_before_publication(drop, tmp_path, monkeypatch):
    """The open report's guard (check report:open_report_names_no_subject, blocking): a
    report block that named a subject outside the subject-level tables, as the changes
    table did, fails the run and publishes nothing, naming the subject."""
    from trial_outcomes.reporting import report as report_module
    from trial_outcomes.reporting.content import Paragraph

    subject = pl.read_csv(drop / "enrolment.csv", infer_schema=False)["subject_id"][0]
    original = report_module.about

    def leaking(inp):
        section = original(inp)
        section.blocks.append(Paragraph(f"A note about {subject}."))
        return section

    monkeypatch.setattr(report_module, "about", leaking)
    out = tmp_path / "out"
    outcome = run_pipeline(drop, out, CUT)
    assert not outcome.success
    said = "\n".join(outcome.failures)
    assert "open_report_names_no_subject" in said and f"the open report names 1 subject(s) ({subject})" in said
    assert not (out / CUT).exists()


def test_a_cut_made_by_other_code_is_said_so_and_a_revision_compares_with_what_it_revises(drop, tmp_path, monkeypatch):
    """An upgrade red team published a cut with older code, then the next cut, and then the
    first again, with the new: a changed rule withdrew a day-28 response and crossed the
    futility boundary, told as a withdrawn response, and the re-run's report compared with
    nothing. Here the first cut is made by "older code" (the manifest's code, patched): the
    next cut's comparison has a Code version row and page 1 says the code changed; the
    first cut run again with this code revises v001 and compares with it, saying so; run
    once more it publishes nothing new (it compares with v001 again: idempotent)."""
    import trial_outcomes.assets.publish as publish_step
    from trial_outcomes import provenance

    real = provenance.code_version()
    older = {**real, "git_commit": "0123456789" + "a" * 30, "dirty": False, "source_sha256": "e" * 64}
    out = tmp_path / "out"
    with monkeypatch.context() as patched:
        patched.setattr(provenance, "code_version", lambda: older)
        patched.setattr(publish_step, "git_version", lambda: older)
        assert run_pipeline(drop, out, CUT).success
    assert _manifest(out)["code"]["git_commit"] == older["git_commit"]

    assert run_pipeline(drop, out, "2024-03-31").success
    comparison = pl.read_csv(out / "2024-03-31" / "cut_comparison.csv", infer_schema=False)
    [row] = comparison.filter(pl.col("item") == "Code version").iter_rows(named=True)
    this = provenance.short_version()
    assert (row["previous"], row["current"], row["change"]) == ("0123456789", this, "changed")
    html = (out / "2024-03-31" / "report.html").read_text()
    assert f"That publication was made by code 0123456789, this one by code {this}" in html

    assert run_pipeline(drop, out, CUT).success
    assert _manifest(out)["revises"]["version"] == "v001"
    comparison = pl.read_csv(out / CUT / "cut_comparison.csv", infer_schema=False)
    assert set(comparison["previous_version"]) == {"v001"} and "Code version" in comparison["item"].to_list()
    html = (out / CUT / "report.html").read_text()
    assert "Code changed since version v001 of this cut, which this version replaces" in html
    assert run_pipeline(drop, out, CUT).success
    assert sorted(p.name for p in (out / ".versions" / CUT).iterdir()) == ["v001", "v002"]

"""The DSMB package on a drop with the optional apheresis file (issue 26), end to end:
it is read, validated and published; the report's disposition has the product table;
the sample, without the file, says what the section needs (tests/assets)."""

from __future__ import annotations

import pytest

from tests.analysis.test_product import _trial
from tests.helpers import materialize_cut, qc_disagreements

pytestmark = pytest.mark.slow


def test_a_drop_with_the_apheresis_file_publishes_its_product_table(tmp_path):
    t = _trial()
    t.assess("S1", 28, "CR", 0.0).assess("S3", 28, "NR", 30.0)
    drop = t.write_drop(tmp_path / "drop")
    assert (drop / "apheresis.csv").is_file()
    result, cut = materialize_cut(drop, tmp_path / "out", "2021-03-01")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    html = (tmp_path / "out" / cut / "report.html").read_text()
    assert "Intention to treat: leukapheresis, product and infusion" in html
    assert "25 (20-30)" in html  # vein-to-vein: 30 and 20 days (tests/analysis/test_product.py)
    assert not qc_disagreements(tmp_path / "out" / cut)


def test_a_drop_without_the_dsmb_files_publishes_and_says_what_each_section_needs(drop, tmp_path):
    """The synthetic drop without its apheresis, labs and long-term files: the run publishes
    as before; ADLB and ADPC are empty datasets under their contracts; each new section of
    the report says which optional file it would need."""
    import polars as pl

    for record in ("apheresis", "labs", "long_term_followup"):
        (drop / f"{record}.csv").unlink()
    result, cut = materialize_cut(drop, tmp_path / "out")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    folder = tmp_path / "out" / cut
    assert pl.read_parquet(folder / "adlb.parquet").height == 0
    assert pl.read_parquet(folder / "adpc.parquet").height == 0
    assert (folder / "adlb.xpt").is_file()
    html = (folder / "report.html").read_text()
    for needed in (
        "this section needs the optional apheresis file",
        "Laboratory toxicity: this section needs the optional labs file",
        "B-cell aplasia and IgG: this section needs the optional labs file",
        "CAR transgene kinetics: this section needs the optional labs file",
        "Long-term safety: this section needs the optional long_term_followup file",
    ):
        assert needed in html, needed
    # never collected is not zero events: no rows, not 0 events in N patient-years with a CI
    assert pl.read_csv(folder / "long_term_safety.csv").height == 0
    assert pl.read_csv(folder / "long_term_events.csv").height == 0
    assert not qc_disagreements(folder)


def test_a_t_cell_malignancy_is_on_page_one_in_red(drop, tmp_path):
    """A T-cell malignancy added on the date of a subject's RCL assay (a valid date for
    that subject): page 1 says it in the alert style and the long-term section opens
    with the class-labelling alert; its incidence is 1 subject, and the closed report's
    listing names it with its detail (the open report has no listing)."""
    import polars as pl

    path = drop / "long_term_followup.csv"
    ltfu = pl.read_csv(path, infer_schema=False)
    rcl = ltfu.filter(pl.col("event") == "RCL_TEST").row(0, named=True)
    added = {**rcl, "event": "T_CELL_MALIGNANCY", "result": None, "detail": "Peripheral T-cell lymphoma"}
    pl.concat([ltfu, pl.DataFrame([added], schema=ltfu.schema)]).write_csv(path)
    result, cut = materialize_cut(drop, tmp_path / "out")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    folder = tmp_path / "out" / cut
    html = (folder / "report.html").read_text()
    summary = html[: html.index("Headline results") + 6000]
    assert '<td class="alert-value">' in summary.split("Long-term safety: secondary malignancies; RCL")[1][:60]
    assert "1 with a T-cell malignancy" in summary
    assert "T-cell malignancy reported in 1 subject(s)" in html
    table = pl.read_csv(folder / "long_term_safety.csv")
    assert table.filter(pl.col("event") == "T_CELL_MALIGNANCY")["n_subjects"].item() == 1
    listed = pl.read_csv(folder / "long_term_events.csv").filter(pl.col("event") == "T_CELL_MALIGNANCY")
    assert listed.select("USUBJID", "ADT", "detail").rows() == [(rcl["subject_id"], rcl["event_date"], added["detail"])]
    listing = html[html.index("Listing: long-term events") :]
    assert "Peripheral T-cell lymphoma" in listing[: listing.index("</table>")]
    assert "Listing: long-term events" not in (folder / "report_open.html").read_text()

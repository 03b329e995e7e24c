"""The closed and the open DSMB report of one cut, from the same content model (issue 26):
the closed report has every section with the subject listings and narratives; the open
report has the aggregate tables only and no subject identifier anywhere (HTML and PDF
text are searched for every subject of the drop)."""

from __future__ import annotations

import subprocess

import polars as pl

from trial_outcomes.reporting.content import CLOSED_ONLY


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_open_report_holds_no_subject_identifier(materialized):
    folder = materialized.folder
    subjects = pl.read_parquet(folder / "adsl.parquet")["USUBJID"].to_list()
    closed_html = (folder / "report.html").read_text()
    assert sum(s in closed_html for s in subjects) > 0  # the closed report names subjects: the search can find one
    for text in ((folder / "report_open.html").read_text(), _pdf_text(folder / "report_open.pdf")):
        leaked = [s for s in subjects if s in text]
        assert not leaked, leaked[:5]
        assert "OPEN REPORT" in text


def test_the_closed_report_has_the_listings_and_narratives_the_open_one_says_where_they_are(materialized):
    folder = materialized.folder
    closed, opened = (folder / "report.html").read_text(), (folder / "report_open.html").read_text()
    narratives = pl.read_csv(folder / "narratives.csv")
    listings = pl.read_csv(folder / "ae_listings.csv")
    assert "Listings and narratives" in closed and "Listings and narratives" in opened
    assert narratives.height > 0 and all(text.split(":")[0] in closed for text in narratives["text"])
    assert f"Narratives ({narratives.height})" in closed
    assert CLOSED_ONLY in opened and CLOSED_ONLY not in closed
    serious = listings.filter(pl.col("listing") == "Serious adverse events")
    assert f"({serious['USUBJID'].n_unique()} subjects, {serious.height} events)" in closed
    # the aggregate numbers are the same in both: the headline table of page 1
    headline = closed[closed.index("Headline results") : closed.index("Headline results") + 3000]
    assert headline.split("</table>")[0] in opened


DSMB_SECTIONS = (
    "Intention to treat: leukapheresis, product and infusion",
    "Dose against the protocol range",
    "Laboratory toxicity and haematotoxicity",
    "CTCAE v5 grade shift from baseline to the worst grade after infusion",
    "Immune effector cell-associated haematotoxicity (ICAHT)",
    "Count recovery after infusion",
    "B-cell aplasia and immunoglobulins",
    "Duration of B-cell aplasia",
    "Relapses by CD19 status and B cells before the relapse",
    "Immunoglobulin G over time",
    "Cellular kinetics",
    "CAR transgene kinetic parameters by day-28 response",
    "Long-term gene-therapy safety",
    "Long-term events: incidence per 100 patient-years",
    "Replication-competent lentivirus (RCL) assays",
    "Trial conduct and data currency",
    "Listings and narratives",
)


def test_the_sample_has_every_section_of_the_dsmb_package(materialized):
    """The sample has the optional apheresis, labs and long-term files: every section is
    there in the closed report and none says what it would need; the spaghetti plot of the
    transgene (one line per subject) is the closed report's only."""
    closed, opened = ((materialized.folder / f).read_text() for f in ("report.html", "report_open.html"))
    missing = [title for title in DSMB_SECTIONS if title not in closed]
    assert not missing
    assert "this section needs the optional" not in closed
    assert "CAR transgene in peripheral blood by day-28 response" in closed
    assert "CAR transgene in peripheral blood by day-28 response" not in opened
    assert "Duration of B-cell aplasia" in opened


def test_page_one_gives_relapse_at_the_landmarks_it_gives_survival(materialized):
    """The executive summary shows the plan's first two landmarks (endpoints.md v3): for CIR
    too, as for OS, EFS and DFS (a statistician's re-derivation found CIR at 6 months alone
    beside the others' 6 and 12). Each CIR rate is survival_summary.csv's, with its number
    at risk from survival_details.csv (both held to R's cuminc by the QC), printed as
    ``formatting.landmark_rate`` prints it (0.8 with limits 0.7 and 0.9 is "80.0% (70.0-90.0)")."""
    import html

    import polars as pl

    folder = materialized.folder
    text = html.unescape((folder / "report.html").read_text())
    page_one = text[text.index("Executive summary") :]
    line = page_one[page_one.index("Cumulative incidence of relapse (CIR): rates") :]
    line = line[: line.index("</tr>")]
    summary = pl.read_csv(folder / "survival_summary.csv").filter(
        (pl.col("endpoint") == "CIR") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all")
    )
    details = pl.read_csv(folder / "survival_details.csv").filter(
        (pl.col("endpoint") == "CIR") & (pl.col("analysis") == "primary") & (pl.col("group_var") == "all")
    )
    row, risk = summary.row(0, named=True), details.row(0, named=True)
    for m in (6, 12):
        rate, lcl, ucl = (100 * row[f"rate_{m}m{part}"] for part in ("", "_lcl", "_ucl"))
        expected = f"{m} mo {rate:.1f}% ({lcl:.1f}-{ucl:.1f}); {risk[f'nrisk_{m}m']} at risk"
        assert expected in line, (expected, line)

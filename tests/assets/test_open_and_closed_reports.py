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

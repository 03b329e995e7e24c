"""Everything the report of one cut is made from: the analysis tables as published,
and what the run knows about the drop, the plan and the publication."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from trial_outcomes.analysis.conduct import ConductTables
from trial_outcomes.analysis.deaths import death_query_titles, deaths_queried
from trial_outcomes.analysis.kinetics import KineticsTables
from trial_outcomes.analysis.labs import LabTables
from trial_outcomes.analysis.listings import ListingTables
from trial_outcomes.io.records import DropQuery
from trial_outcomes.plan import AnalysisPlan

#: the ADSL columns the report reads (39 of 102; the figures read theirs, ``figures.ADSL_COLUMNS``):
#: baseline characteristics, disposition, product and infusion, best response, deaths and the
#: executive summary. ``tests/reporting/test_report_columns.py`` builds the report from them and
#: from the whole dataset, and finds every ADSL name the report's modules spell in this list.
ADSL_COLUMNS = (
    "USUBJID",
    # baseline characteristics (``efficacy.baseline_table``)
    "AGE",
    "AGEGR1",
    "SEX",
    "DISSTAT",
    "STRATUM",
    "PRIORREL",
    "PRHSCTFL",
    "CD19PCT",
    "BMBLPCT",
    "EMDFL",
    "FUSION",
    "ECOGBL",
    # populations and disposition
    "SAFFL",
    "EFFFL",
    "PPROTFL",
    "DISPSTAT",
    "HSCTDT",
    "NTHERDT",
    # product and infusion
    "APHDT",
    "PRODSTAT",
    "APHNINF",
    "NINFCAT",
    "V2VDY",
    "NINFUS",  # subjects given more than one dose (``efficacy.reinfused_listing``)
    "NDOSE",
    "TR02SDT",
    # response and relapse
    "BOR28",
    "CRFL",
    "D28PNDFL",
    "D28ERLFL",
    "RELDT",
    "FRMDT",  # a leukaemia death in remission without a relapse record is named (``safety.deaths_tables``)
    # deaths
    "DTHDT",
    "DTHDY",
    "DTHCAUS",
    "DTHCAT",
    "DTHCATSR",  # a coded UNKNOWN cause is queried apart (``safety.unknown_cause_query``)
    "DTHCGR1",
    "DTH30FL",
    "DTH100FL",
    "NRMFL",
)


@dataclass
class ReportInputs:
    cut: str
    drop_name: str  # the folder it was read from: never printed (the drop is its content, not its folder's name)
    drop_sha256: str
    drop_files: dict[str, str]  # file -> SHA-256
    code_version: str
    plan: AnalysisPlan
    adsl: pl.DataFrame  # the columns in ``ADSL_COLUMNS``
    adae: pl.DataFrame | pl.LazyFrame  # the columns in ``safety.ADAE_COLUMNS``; a scan in a run
    tables: dict[str, pl.DataFrame]  # by file stem: response_summary, survival_summary, ae_soc_summary, ...
    figures: set[str]  # the SVG names under plots/
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)  # record -> optional columns the drop lacks
    supersedes: dict[str, str] = field(default_factory=dict)  # version, drop_sha256, reason (when superseding)
    comparison: pl.DataFrame | None = None
    latest_record: str | None = None  # the drop's latest record (YYYY-MM-DD)
    days_after_latest_record: int = 0  # a planned cut later than the latest record: by how much
    extracted_on: str | None = None  # drop_info.toml, when stated
    qc_status: str | None = None  # the independent R QC (io.qc): agree, disagree, not run, failed
    qc_finding: str | None = None  # what the QC found, in one line (io.qc.QcResult.finding)
    listings: ListingTables | None = None  # the closed report's listings and narratives
    conduct: ConductTables | None = None  # trial conduct and data currency
    labs: LabTables | None = None  # laboratory toxicity, ICAHT, IgG, B-cell aplasia (optional labs file)
    kinetics: KineticsTables | None = None  # CAR transgene kinetics (optional labs file)
    long_term: pl.DataFrame | None = None  # long_term_safety.csv (optional long_term_followup file)
    long_term_events: pl.DataFrame | None = None  # long_term_events.csv: the closed report's listing
    lost_remission: int = 0  # subjects who lost a CR/CRi without a relapse record (response.remission_lost_...)
    unfevered_support: pl.DataFrame | None = (
        None  # graded CRS monitoring days of support without fever (crs.support_...)
    )
    queries: tuple[DropQuery, ...] = ()  # the warnings raised on the whole drop (``TrialDrop.queries``)
    # syndrome -> its monitoring days outside the grading window that would grade 3 or more, or
    # need organ support without fever (``syndromes.outside_queried``): page 1 and a listing
    outside_window: dict[str, pl.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    @cached_property
    def death_queries(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The Deaths section's two data queries (``deaths.deaths_queried``), made once for
        the section's listings, page 1 and the manifest (``death_query_titles``)."""
        return deaths_queried(self.adsl, self.adae)

    @property
    def death_query_titles(self) -> list[str]:
        """Page 1's names for the open Deaths queries, each with its deaths; the report
        step hands them to ``published_cut`` for the manifest."""
        return death_query_titles(*self.death_queries)

    def lacks(self, record: str, column: str | None = None) -> bool:
        """Whether the drop lacks an optional file (``column`` None) or column."""
        from trial_outcomes.schema import SCHEMAS

        missing = self.absent.get(record, ())
        if column is None:
            return set(missing) == set(SCHEMAS[record].column_names)
        return column in missing

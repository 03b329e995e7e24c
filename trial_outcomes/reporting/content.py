"""The content of the DSMB report as plain data: tables (lists of rows) and
figures (PNG bytes), built from the analysis tables of one cut. Rendering to
HTML and PDF (``render``) only lays this out."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import polars as pl

from trial_outcomes.analysis.adtte import PARAMS


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    note: str = ""
    kind: str = "table"


@dataclass
class Paragraph:
    text: str
    kind: str = "paragraph"


@dataclass
class Figure:
    png: bytes
    caption: str
    width_pct: int = 100
    kind: str = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list = field(default_factory=list)  # Table, Figure or Paragraph


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "NE"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def pct(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.1f}%)" if total else f"{n}"


def rate_ci(rate, lcl, ucl) -> str:
    if rate is None:
        return "NE"
    return f"{100 * rate:.1f}% ({fmt(None if lcl is None else 100 * lcl)}-{fmt(None if ucl is None else 100 * ucl)})"


def median_ci(median, lcl, ucl) -> str:
    return f"{fmt(median, 0)} ({fmt(lcl, 0)}-{fmt(ucl, 0)})"


def disposition_counts(adsl: pl.DataFrame) -> dict:
    flag = lambda col: int((adsl[col] == "Y").sum())  # noqa: E731
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    status = lambda s: int((safety["DISPSTAT"] == s).sum())  # noqa: E731
    return {
        "enrolled": adsl.height,
        "infused": flag("SAFFL"),
        "evaluable": flag("EFFFL"),
        "per_protocol": flag("PPROTFL"),
        "ongoing": status("ONGOING"),
        "died": status("DIED"),
        "withdrawn": status("WITHDRAWN"),
        "lost": status("LOST"),
    }


def not_infused_reasons(adsl: pl.DataFrame) -> list[tuple[str, int]]:
    counts = (
        adsl.filter(pl.col("SAFFL") == "N").group_by("NINFREAS").len().sort("len", "NINFREAS", descending=[True, False])
    )
    return [(str(r), int(n)) for r, n in counts.iter_rows()]


def baseline_table(adsl: pl.DataFrame) -> Table:
    """Baseline characteristics by population: enrolled, safety and efficacy sets."""
    pops = [
        ("Enrolled", adsl),
        ("Safety (infused)", adsl.filter(pl.col("SAFFL") == "Y")),
        ("Efficacy", adsl.filter(pl.col("EFFFL") == "Y")),
    ]
    rows: list[list[str]] = [["N"] + [str(p.height) for _, p in pops]]

    def continuous(label: str, col: str, digits: int = 1):
        cells = []
        for _, p in pops:
            s = p[col].drop_nulls()
            cells.append("" if s.is_empty() else f"{s.median():.{digits}f} ({s.min():.{digits}f}-{s.max():.{digits}f})")
        rows.append([f"{label}, median (range)"] + cells)

    def categorical(label: str, col: str):
        levels = sorted(adsl[col].drop_nulls().cast(pl.String).unique().to_list())
        rows.append([label, "", "", ""])
        for level in levels:
            rows.append(
                [f"\u00a0\u00a0\u00a0{level}"]
                + [pct(int((p[col].cast(pl.String) == level).sum()), p.height) for _, p in pops]
            )

    continuous("Age, years", "age_years")
    categorical("Age group", "age_group")
    categorical("Sex", "sex")
    categorical("Disease status", "disease_status")
    continuous("Prior relapses", "prior_relapses", 0)
    categorical("Prior allogeneic HSCT", "prior_hsct")
    continuous("CD19+ blasts, %", "cd19_pct")
    continuous("Marrow blasts, %", "bm_blast_pct")
    categorical("Extramedullary disease", "emd")
    categorical("Fusion gene", "fusion_gene")
    categorical("ECOG", "ecog")
    return Table(
        ["Characteristic"] + [name for name, _ in pops],
        rows,
        "Baseline characteristics by population",
        "Percentages of each population's N.",
    )


def response_table(response: pl.DataFrame) -> Table:
    rows = []
    for r in response.iter_rows(named=True):
        group = "All" if r["group_var"] == "all" else f"{r['group_var']} = {r['group']}"
        rows.append(
            [r["parameter"], group, str(r["n"]), str(r["responders"]), rate_ci(r["rate"], r["rate_lcl"], r["rate_ucl"])]
        )
    pending = int(response.filter(pl.col("group_var") == "all")["n_window_open"].max() or 0)
    note = "Exact Clopper-Pearson 95% CIs over the efficacy set; no assessment in day 21-42 counts as non-response."
    if pending:
        note += f" {pending} subject(s) had not reached day 42 at the cut and count as non-responders."
    return Table(["Parameter", "Group", "N", "Responders", "Rate (95% CI)"], rows, "Day-28 response", note)


def endpoint_table(summary: pl.DataFrame, endpoint: str, analysis: str, caption: str = "") -> Table:
    rows = summary.filter((pl.col("endpoint") == endpoint) & (pl.col("analysis") == analysis))
    cumulative = endpoint == "CIR"
    out = []
    for r in rows.iter_rows(named=True):
        group = "All" if r["group_var"] == "all" else f"{r['group_var']} = {r['group']}"
        test = "" if r["logrank_p"] is None else f"{r['logrank_chisq']:.2f} / {r['logrank_p']:.3f}"
        out.append(
            [
                group,
                str(r["n"]),
                str(r["n_events"]),
                "" if cumulative else median_ci(r["median_days"], r["median_lcl_days"], r["median_ucl_days"]),
                rate_ci(r["rate_6m"], r["rate_6m_lcl"], r["rate_6m_ucl"]),
                rate_ci(r["rate_12m"], r["rate_12m_lcl"], r["rate_12m_ucl"]),
                rate_ci(r["rate_24m"], r["rate_24m_lcl"], r["rate_24m_ucl"]),
                test,
            ]
        )
    what = "Incidence" if cumulative else "Survival"
    return Table(
        [
            "Group",
            "N",
            "Events",
            "Median, days (95% CI)",
            f"{what} 6 mo",
            f"{what} 12 mo",
            f"{what} 24 mo",
            "Gray chi2 / p" if cumulative else "Log-rank chi2 / p",
        ],
        out,
        caption or f"{PARAMS[endpoint]} ({endpoint}), {analysis.replace('_', ' ')} analysis",
        "Kaplan-Meier with log-log 95% CIs; medians by Brookmeyer-Crowley; NE = not estimable."
        if not cumulative
        else "Aalen-Johansen with death in remission competing; log-log 95% CIs; Gray's test.",
    )


def ae_table(ae: pl.DataFrame) -> Table:
    rows = [
        [
            r["term"],
            pct(r["n_any"], r["n_safety"]),
            pct(r["n_grade3plus"], r["n_safety"]),
            *[str(r[f"n_grade{g}"]) for g in range(1, 6)],
        ]
        for r in ae.iter_rows(named=True)
    ]
    return Table(
        ["Term", "Any grade", "Grade >= 3", "G1", "G2", "G3", "G4", "G5"],
        rows,
        "Treatment-emergent adverse events by worst grade per subject",
        "Subjects counted once per term at their worst grade; percentages of the safety set. "
        "CRS and ICANS graded by ASTCT 2019, others by CTCAE v5.0.",
    )


def syndrome_table(adsl: pl.DataFrame) -> Table:
    """CRS and ICANS: incidence by worst ASTCT grade, onset and duration, drugs."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    n = safety.height
    rows = []
    for prefix, name in (("CRS", "CRS"), ("ICANS", "ICANS")):
        grade = safety[f"{prefix}GR"]
        rows.append(
            [name, pct(int(grade.is_not_null().sum()), n)]
            + [pct(int((grade == g).sum()), n) for g in range(1, 6)]
            + [
                _median_range(safety[f"{prefix}ONDY"]),
                _median_range(safety[f"{prefix}DUR"]),
                pct(int((safety[f"{prefix}TOCI"] == "Y").sum()), n),
                pct(int((safety[f"{prefix}STER"] == "Y").sum()), n),
            ]
        )
    return Table(
        [
            "Syndrome",
            "Any",
            "G1",
            "G2",
            "G3",
            "G4",
            "G5",
            "Onset day, median (range)",
            "Duration, days, median (range)",
            "Tocilizumab",
            "Corticosteroids",
        ],
        rows,
        "CRS and ICANS by worst ASTCT grade",
        "Onset day from infusion (day 0); duration counts onset and resolution days; ongoing episodes have no duration.",
    )


def _median_range(series: pl.Series) -> str:
    s = series.drop_nulls()
    return "" if s.is_empty() else f"{s.median():.0f} ({s.min()}-{s.max()})"


LISTING_LIMIT = 200  # rows of a listing shown in the report; the full table is in the cut's files


def listing(
    frame: pl.DataFrame, caption: str, note: str = "", columns: dict[str, str] | None = None, source: str = ""
) -> Table:
    """A listing of ``frame``; past ``LISTING_LIMIT`` rows the report shows the first
    ones and says where the full table is."""
    columns = columns or {c: c for c in frame.columns}
    rows = [
        [fmt(v) if v is not None else "" for v in row]
        for row in frame.head(LISTING_LIMIT).select(list(columns)).iter_rows()
    ]
    if frame.height > LISTING_LIMIT:
        note = (
            (note + " " if note else "")
            + f"First {LISTING_LIMIT} of {frame.height} rows"
            + (f"; all in {source}." if source else ".")
        )
    return Table(list(columns.values()), rows, caption, note or ("No rows." if not rows else ""))


def deaths_listing(adsl: pl.DataFrame) -> Table:
    deaths = (
        adsl.filter(pl.col("DTHDT").is_not_null())
        .sort("DTHDT", "USUBJID")
        .select(
            "USUBJID",
            pl.col("DTHDT").cast(pl.String),
            pl.col("DTHDY").cast(pl.String),
            "DTHCAUS",
            "SAFFL",
            "DTH30FL",
            "DTH100FL",
            "NRMFL",
            pl.col("RELDT").is_not_null().replace_strict({True: "Y", False: "N"}).alias("RELAPSED"),
        )
    )
    return listing(
        deaths,
        "Deaths",
        source="adsl.parquet (DTHDT, DTHCAUS)",
        columns={
            "USUBJID": "Subject",
            "DTHDT": "Date",
            "DTHDY": "Day",
            "DTHCAUS": "Cause",
            "SAFFL": "Infused",
            "DTH30FL": "<= 30 d",
            "DTH100FL": "<= 100 d",
            "NRMFL": "NRM",
            "RELAPSED": "After relapse",
        },
    )


def hsct_table(landmark: pl.DataFrame) -> Table:
    rows = [
        [
            r["endpoint"],
            r["group"],
            str(r["n"]),
            str(r["n_events"]),
            median_ci(r["median_days_from_landmark"], r["median_lcl"], r["median_ucl"]),
            "" if r["logrank_p"] is None else f"{r['logrank_p']:.3f}",
            "" if r["hr_hsct"] is None else f"{r['hr_hsct']:.2f} ({r['hr_lcl']:.2f}-{r['hr_ucl']:.2f})",
        ]
        for r in landmark.iter_rows(named=True)
    ]
    day = landmark["landmark_day"][0] if landmark.height else ""
    return Table(
        [
            "Endpoint",
            "Group at landmark",
            "N",
            "Events",
            "Median from landmark, days (95% CI)",
            "Log-rank p",
            "HR HSCT vs none (95% CI)",
        ],
        rows,
        f"Consolidative HSCT: landmark analysis at day {day}",
        "Subjects in remission and event-free at the landmark, grouped by HSCT on or before it; time from the landmark. "
        "A plain comparison of 'ever transplanted' would favour HSCT by immortal-time bias.",
    )

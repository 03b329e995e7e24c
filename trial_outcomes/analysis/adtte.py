"""ADTTE: one row per subject, endpoint and analysis (endpoints.md, Time-to-event).

Every endpoint is one function from ADSL to rows ``USUBJID, STARTDT, ADT,
CNSR, EVNTTYPE, EVNTDESC, CNSDTDSC``; ``AVAL`` (days from STARTDT) is added to
all alike, and the sensitivity analysis ``censor_at_hsct`` applies to the
endpoints in ``SENSITIVITY[CENSOR_AT_HSCT]``. ADSL holds only what is known at
the cut, so no date here passes the cut.

CNSR is 0 for an event and 1 for a censoring. For the competing-risk endpoints
(CIR, NRM) ``EVNTTYPE`` is 1 for the event, 2 for the competing event and 0
for a censoring, and both event types have CNSR 0.

Deaths in remission are split by cause (``DTHCAT``): a death from leukaemia
with no relapse on record is the disease returning unseen, so CIR counts it
with relapse (type 1) and NRM as competing; any other death in remission is
non-relapse mortality (CIR type 2, NRM type 1). This keeps CIR + NRM + DFS = 1
at every time, and matches NRM as endpoints.md defines it.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from trial_outcomes.analysis.frames import require, stacked, streamed
from trial_outcomes.contracts import SUBGROUP_VARIABLES, with_study
from trial_outcomes.labels import ENDPOINTS as ENDPOINT_NAMES

PRIMARY, CENSOR_AT_HSCT = "primary", "censor_at_hsct"
PARAMS = ENDPOINT_NAMES  # PARAM of each PARAMCD
ENDPOINT_ORDER = tuple(PARAMS)  # the order of every table and figure
COMPETING = ("CIR", "NRM")  # cumulative-incidence endpoints (Aalen-Johansen, Gray's test)
#: sensitivity analysis -> the endpoints it applies to (endpoints.md: OS is not part of censor_at_hsct)
SENSITIVITY = {CENSOR_AT_HSCT: ("EFS", "DFS", "CIR", "DOR")}
POPULATION = {
    "OS": "SAFFL",
    "EFS": "SAFFL",
    "DFS": "SAFFL & remission",
    "CIR": "SAFFL & remission",
    "NRM": "SAFFL & remission",
    "DOR": "SAFFL & remission",
}
_ADSL_NEEDS = (
    "USUBJID",
    "SAFFL",
    "TRTSDT",
    "DTHDT",
    "DTHCAT",
    "LSTALVDT",
    "LSTASDT",
    "RELDT",
    "RLAPDT",
    "FRMDT",
    "LSTREMDT",
    "RSP42FL",
    "TRTFLFL",
    "D28PNDFL",
    "HSCTDT",
    "NTHERDT",
    "ATTRENDT",
    "ATTRENRS",
)


def analyses(endpoint: str) -> tuple[str, ...]:
    """The analyses of one endpoint: the primary one and the sensitivity analyses that include it."""
    return (PRIMARY, *[name for name, endpoints in SENSITIVITY.items() if endpoint in endpoints])


def _rows(
    frame: pl.DataFrame,
    start: pl.Expr,
    adt: pl.Expr,
    event: pl.Expr,
    desc: pl.Expr,
    censor_desc: pl.Expr,
    event_type: pl.Expr | None = None,
) -> pl.DataFrame:
    return frame.select(
        "USUBJID",
        start.alias("STARTDT"),
        adt.alias("ADT"),
        pl.when(event).then(0).otherwise(1).cast(pl.Int8).alias("CNSR"),
        (event_type if event_type is not None else pl.lit(None, dtype=pl.Int8)).cast(pl.Int8).alias("EVNTTYPE"),
        pl.when(event).then(desc).alias("EVNTDESC"),
        pl.when(~event).then(censor_desc).alias("CNSDTDSC"),
    )


def _from_remission(
    adsl: pl.DataFrame,
    event: pl.Expr,
    desc: pl.Expr,
    censor_desc: pl.Expr | None = None,
    event_type: pl.Expr | None = None,
) -> pl.DataFrame:
    """The rows of an endpoint measured from the first remission (DFS, CIR, NRM,
    DOR): subjects in remission, from ``FRMDT`` to the end of remission (relapse or
    death), else censored at the last assessment in remission."""
    return _rows(
        _remission_set(adsl),
        pl.col("FRMDT"),
        pl.coalesce(_IN_REMISSION_END, pl.col("LSTREMDT")),
        event,
        desc,
        censor_desc if censor_desc is not None else pl.lit("Last assessment in remission"),
        event_type,
    )


def overall_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """OS, safety set: day 0 to death from any cause; else censored at the last
    known alive date (``LSTALVDT``). Never censored at HSCT or new therapy."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    died = pl.col("DTHDT").is_not_null()
    return _rows(
        safety,
        pl.col("TRTSDT"),
        pl.coalesce(pl.col("DTHDT"), pl.col("LSTALVDT")),
        died,
        pl.lit("Death"),
        pl.lit("Last known alive"),
    )


def event_free_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """EFS, safety set: day 0 to the earliest of treatment failure (no attributable
    CR/CRi at any assessment up to day 42: an event at day 1, ``TRTFLFL``), relapse,
    or death; else censored at the last disease assessment (day 0 when there is
    none). A subject in CR at day 14 who relapses at day 28 responded: the event
    is the relapse, on its day. The relapse is ``RLAPDT``: an MRD-persistent
    entrant's relapse counts from day 0, before any MRD conversion. While the window is open without a remission the
    subject is censored, "pending"."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    failed = pl.col("TRTFLFL") == "Y"
    first_of = pl.min_horizontal("RLAPDT", "DTHDT")
    event = failed | first_of.is_not_null()
    adt = (
        pl.when(failed)
        .then(pl.col("TRTSDT") + pl.duration(days=1))
        .when(event)
        .then(first_of)
        .otherwise(pl.coalesce(pl.col("LSTASDT"), pl.col("TRTSDT")))
    )
    desc = (
        pl.when(failed)
        .then(pl.lit("Treatment failure: no CR/CRi by day 42"))
        .when(pl.col("RLAPDT") == first_of)
        .then(pl.lit("Relapse"))
        .otherwise(pl.lit("Death"))
    )
    censor = (
        pl.when((pl.col("D28PNDFL") == "Y") & (pl.col("RSP42FL") != "Y"))
        .then(pl.lit("Day-28 response pending at the cut"))
        .when(pl.col("LSTASDT").is_null())
        .then(pl.lit("No disease assessment: censored at day 0"))
        .otherwise(pl.lit("Last disease assessment"))
    )
    return _rows(safety, pl.col("TRTSDT"), adt, event, desc, censor)


def _remission_set(adsl: pl.DataFrame) -> pl.DataFrame:
    return adsl.filter((pl.col("SAFFL") == "Y") & pl.col("FRMDT").is_not_null())


_LEUKEMIA_DEATH = pl.col("DTHCAT") == "LEUKEMIA"
_IN_REMISSION_END = pl.min_horizontal("RELDT", "DTHDT")


def disease_free_survival(adsl: pl.DataFrame) -> pl.DataFrame:
    """DFS, subjects reaching a remission: first remission date to relapse (a
    ``RELAPSE`` assessment; MRD reappearance alone is not relapse) or death from any
    cause; else censored at the last assessment that showed remission."""
    desc = pl.when(pl.col("RELDT") == _IN_REMISSION_END).then(pl.lit("Relapse")).otherwise(pl.lit("Death"))
    return _from_remission(adsl, _IN_REMISSION_END.is_not_null(), desc)


def _relapse_first() -> pl.Expr:
    """The subject left remission by relapse (a relapse and a death on the same day
    count as relapse), or by a death from leukaemia without a recorded relapse."""
    relapse = pl.col("RELDT").is_not_null() & (pl.col("RELDT") == _IN_REMISSION_END)
    return relapse | (pl.col("RELDT").is_null() & pl.col("DTHDT").is_not_null() & _LEUKEMIA_DEATH.fill_null(False))


def cumulative_incidence_of_relapse(adsl: pl.DataFrame) -> pl.DataFrame:
    """CIR, same subjects, start and censoring as DFS: relapse is the event (type 1),
    death in remission the competing event (type 2)."""
    ended = _IN_REMISSION_END.is_not_null()
    relapse = _relapse_first()
    kind = pl.when(relapse).then(1).when(ended).then(2).otherwise(0)
    desc = (
        pl.when(pl.col("RELDT") == _IN_REMISSION_END)
        .then(pl.lit("Relapse"))
        .when(relapse)
        .then(pl.lit("Death from leukaemia without recorded relapse"))
        .otherwise(pl.lit("Death in remission (competing)"))
    )
    return _from_remission(adsl, ended, desc, event_type=kind)


def non_relapse_mortality(adsl: pl.DataFrame) -> pl.DataFrame:
    """NRM, same subjects and start as CIR, as its own cumulative incidence: death in
    remission not from leukaemia is the event (type 1), relapse the competing event
    (type 2), as is a death from leukaemia without a recorded relapse (CIR's event: it
    is said so, not called a relapse)."""
    ended = _IN_REMISSION_END.is_not_null()
    relapse = _relapse_first()
    kind = pl.when(ended & ~relapse).then(1).when(relapse).then(2).otherwise(0)
    desc = (
        pl.when(ended & ~relapse)
        .then(pl.concat_str(pl.lit("Non-relapse death: "), pl.col("DTHCAT")))
        .when(pl.col("RELDT") == _IN_REMISSION_END)
        .then(pl.lit("Relapse (competing)"))
        .otherwise(pl.lit("Death from leukaemia without recorded relapse (competing)"))
    )
    return _from_remission(adsl, ended, desc, event_type=kind)


def duration_of_remission(adsl: pl.DataFrame) -> pl.DataFrame:
    """DOR, same subjects and start as DFS: to relapse or death due to leukaemia;
    death from another cause is censored at death; else censored at the last
    assessment in remission."""
    relapse = _relapse_first()
    other_death = _IN_REMISSION_END.is_not_null() & ~relapse
    desc = (
        pl.when(pl.col("RELDT") == _IN_REMISSION_END).then(pl.lit("Relapse")).otherwise(pl.lit("Death from leukaemia"))
    )
    censor = (
        pl.when(other_death)
        .then(pl.concat_str(pl.lit("Death from another cause: "), pl.col("DTHCAT")))
        .otherwise(pl.lit("Last assessment in remission"))
    )
    return _from_remission(adsl, relapse, desc, censor)


DERIVATIONS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {  # the rows of each PARAMCD
    "OS": overall_survival,
    "EFS": event_free_survival,
    "DFS": disease_free_survival,
    "CIR": cumulative_incidence_of_relapse,
    "NRM": non_relapse_mortality,
    "DOR": duration_of_remission,
}


def censor_at_hsct(rows: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """Sensitivity analysis ``censor_at_hsct``: censor at consolidative HSCT or new
    anti-leukemia therapy, whichever is first (``ATTRENDT``), when it comes before
    the event or censoring date (an event on the day of HSCT still counts). A
    therapy before the start date censors at the start (AVAL 0)."""
    therapy = adsl.select("USUBJID", pl.col("ATTRENDT").alias("_thdt"), pl.col("ATTRENRS").alias("_thdesc"))
    hit = pl.col("_thdt").is_not_null() & (pl.col("_thdt") < pl.col("ADT"))
    return (
        rows.join(therapy, on="USUBJID", how="left")
        .with_columns(
            pl.when(hit).then(pl.max_horizontal("_thdt", "STARTDT")).otherwise(pl.col("ADT")).alias("ADT"),
            pl.when(hit).then(1).otherwise(pl.col("CNSR")).cast(pl.Int8).alias("CNSR"),
            pl.when(hit)
            .then(pl.when(pl.col("EVNTTYPE").is_not_null()).then(0))
            .otherwise(pl.col("EVNTTYPE"))
            .cast(pl.Int8)
            .alias("EVNTTYPE"),
            pl.when(hit).then(None).otherwise(pl.col("EVNTDESC")).alias("EVNTDESC"),
            pl.when(hit).then(pl.col("_thdesc")).otherwise(pl.col("CNSDTDSC")).alias("CNSDTDSC"),
        )
        .drop("_thdt", "_thdesc")
    )


ADTTE_COLUMNS = (
    "USUBJID",
    "PARAMCD",
    "PARAM",
    "ANALYSIS",
    "STARTDT",
    "ADT",
    "AVAL",
    "AVALU",
    "CNSR",
    "EVNTTYPE",
    "EVNTDESC",
    "CNSDTDSC",
)
CARRIED = ("SAFFL", "EFFFL", "PPROTFL")
#: every ADSL column ADTTE may read: what the endpoints need, the flags carried, any subgroup
ADSL_COLUMNS = tuple(dict.fromkeys((*_ADSL_NEEDS, *CARRIED, *SUBGROUP_VARIABLES)))


def _as_categories(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its text columns but USUBJID held as categories."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String and name != "USUBJID"]
    return frame.with_columns(pl.col(text).cast(pl.Categorical))


def derive_adtte(adsl: pl.DataFrame, subgroups: tuple[str, ...]) -> pl.DataFrame:
    """Every endpoint with its analyses, AVAL in days, the ADSL population flags and
    the analysis plan's subgroup variables (``subgroups``).

    Its text columns but USUBJID are held as categories (``pl.Categorical``): they take
    a few values over eight rows a subject, 4 bytes a row so and 16 as text (at a million
    subjects, 8 million rows: the process's RSS after the derivation 2.8 -> 1.6 GB). Their
    values, order and sorting are the text's; the published files hold them as text
    (``contracts.with_declared_text``)."""
    require(adsl, "ADSL", *_ADSL_NEEDS, *CARRIED, *subgroups)
    # each endpoint filters ADSL: its hundred columns were copied six times at a million subjects
    adsl = adsl.select(list(dict.fromkeys((*_ADSL_NEEDS, *CARRIED, *subgroups))))
    carried = _as_categories(adsl.select("USUBJID", *CARRIED, *dict.fromkeys(subgroups)))
    order = {p: i for i, p in enumerate(ENDPOINT_ORDER)}
    # each endpoint's analysis is finished (sorted by subject) on its own and the parts put
    # in the order of the dataset: at a million subjects, sorting and joining the 8 million
    # rows at once held four copies of them
    parts: dict[tuple[int, str], pl.DataFrame] = {}
    for paramcd, derive in DERIVATIONS.items():
        rows = derive(adsl)
        for analysis in analyses(paramcd):
            data = rows if analysis == PRIMARY else censor_at_hsct(rows, adsl)
            part = data.with_columns(
                pl.lit(paramcd).alias("PARAMCD"),
                pl.lit(PARAMS[paramcd]).alias("PARAM"),
                pl.lit(analysis).alias("ANALYSIS"),
                (pl.col("ADT") - pl.col("STARTDT")).dt.total_days().cast(pl.Int64).alias("AVAL"),
                pl.lit("DAYS").alias("AVALU"),
            ).select(ADTTE_COLUMNS)
            parts[(order[paramcd], analysis)] = _as_categories(with_study(part)).sort("USUBJID")
    # one subject per row of an endpoint's analysis: this is the order of (PARAMCD, ANALYSIS, USUBJID)
    endpoints = stacked([parts.pop(key) for key in sorted(parts)])
    # the carried variables are put on last, a column at a time from each row's subject (the
    # left join's values): joined to each part, the subgroups' text was built and sorted in
    # ten wide copies, 1.1 GB over ADTTE at a million subjects
    subject = carried.select("USUBJID").with_row_index("_row")
    at = endpoints.select("USUBJID").join(subject, on="USUBJID", how="left", maintain_order="left")["_row"]
    return endpoints.with_columns(carried.get_column(c).gather(at) for c in carried.columns[1:])


def event_counts(adtte: pl.DataFrame) -> pl.DataFrame:
    """Subjects, events and competing events per endpoint and analysis (``PARAMCD,
    ANALYSIS, n, events, competing``). For CIR and NRM an event is ``EVNTTYPE`` 1
    only: the competing event (type 2) also has CNSR 0 and is counted apart, so the
    UI reads as the report does (version 2 counted 41 CIR events where the report
    had 38 relapses and 3 competing deaths)."""
    competing = pl.col("PARAMCD").is_in(COMPETING)
    # streamed: the groups of 8 million rows at a million subjects were 0.4 GB over ADTTE
    return streamed(
        adtte.lazy()
        .group_by("PARAMCD", "ANALYSIS")
        .agg(
            pl.len().alias("n"),
            pl.when(competing).then(pl.col("EVNTTYPE") == 1).otherwise(pl.col("CNSR") == 0).sum().alias("events"),
            (competing & (pl.col("EVNTTYPE") == 2)).sum().alias("competing"),
        )
        .sort("PARAMCD", "ANALYSIS")
    )

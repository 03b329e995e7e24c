"""Response to CAR-T (endpoints.md version 3, Response).

Each rule is one function; ``derive_response`` composes them into one row per
infused subject. Worked examples, in study days, are the tests in
tests/analysis/test_response_rules.py.

* Attribution: only assessments before the first HSCT or NEW_THERAPY count
  toward any response of CAR-T (``attributable_assessments``).
* A remission is CR/CRi; for MRD-persistent entrants, who enter in morphologic
  remission, it is MRD conversion: CR/CRi with ``mrd_pct < 0.01``
  (``is_remission``).
* Best overall response by day 28: the best attributable assessment on day
  21 to 42 (``best_response_day28``).
* MRD-negative CR/CRi by day 28: any attributable CR/CRi in the window with
  ``mrd_pct < 0.01``, not only the one that gave the best response
  (``best_response_day28``).
* Interim denominators (version 3, symmetric): a subject whose day-42 window is
  open at the cut is pending (``PENDING``), responder so far or not: out of the
  numerator and the denominator, as in the futility rule. The window closes on
  day 42, or earlier at death, HSCT or new therapy, after which no CAR-T
  response can be seen; a withdrawal or a loss to follow-up does not close it
  (``window_close_date``).
* ``ORR3M`` (ELIANA's primary endpoint): a remission on day 0 to 91, maintained:
  within the 28 days after it no relapse, no attributable PR/NR/RELAPSE
  assessment and no death (``overall_remission_3m``).
* First remission date, relapse and the last assessment in remission, for
  DFS, CIR, NRM and DOR (``remission_dates``, ``relapse_after_remission``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.frames import require, streamed
from trial_outcomes.analysis.timeline import study_day
from trial_outcomes.dates import RESPONSE_WINDOW_FIRST_DAY, RESPONSE_WINDOW_LAST_DAY

REMISSION = ("CR", "CRi")
#: best first; RELAPSE (in the window, after an earlier remission) is no response, but an
#: assessed one: not NE, which is for a window without any assessment (a reviewer found 7
#: relapses after a day-14 CR tabulated as "Not evaluable")
RESPONSE_ORDER = ("CR", "CRi", "PR", "NR", "RELAPSE", "NE")
MRD_NEGATIVE_BELOW = 0.01  # % of nucleated cells
WINDOW_FIRST_DAY, WINDOW_LAST_DAY = RESPONSE_WINDOW_FIRST_DAY, RESPONSE_WINDOW_LAST_DAY  # day-28 response window
ORR3M_LAST_DAY, ORR3M_MAINTAINED_DAYS = 91, 28
PENDING = "PENDING"
MORPHOLOGIC, MRD_PERSISTENT = "morphologic", "mrd_persistent"

#: the per-subject columns ``derive_response`` needs (one row per infused subject)
SUBJECT_COLUMNS = ("subject_id", "TRTSDT", "STRATUM", "ATTRENDT", "DTHDT", "WDDT", "LOSTDT")


def _flagged(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """One row per subject in ``frame`` with the marker column ``name`` (True), to join."""
    return streamed(frame.lazy().select("subject_id").unique().with_columns(pl.lit(True).alias(name)))


def disease_stratum(disease_status: pl.Expr) -> pl.Expr:
    """``STRATUM``: ``mrd_persistent`` entrants respond by MRD conversion;
    relapsed and primary refractory entrants (``morphologic``) by morphologic
    remission. Every response rate is shown overall and by this stratum."""
    return pl.when(disease_status == MRD_PERSISTENT).then(pl.lit(MRD_PERSISTENT)).otherwise(pl.lit(MORPHOLOGIC))


def mrd_negative(mrd: pl.Expr) -> pl.Expr:
    """MRD-negative: ``mrd_pct < 0.01`` (0.01 itself is positive); not done is not negative."""
    return (mrd < MRD_NEGATIVE_BELOW).fill_null(False)


def is_remission(response: pl.Expr, mrd: pl.Expr, stratum: pl.Expr) -> pl.Expr:
    """A CAR-T remission at one assessment: CR or CRi; for an MRD-persistent entrant
    also MRD-negative (their morphologic CR says nothing)."""
    morphologic = response.is_in(REMISSION).fill_null(False)
    return morphologic & ((stratum != MRD_PERSISTENT) | mrd_negative(mrd))


def attributable_assessments(assessments: pl.LazyFrame, subjects: pl.DataFrame) -> pl.LazyFrame:
    """Every assessment of an infused subject with its study day ``ADY``, ``ANL01FL``
    (Y: before the first HSCT or new therapy, so attributable to CAR-T) and
    ``REMISSION`` (``is_remission`` at this assessment). A remission reached only
    after salvage therapy started (CR at month 2, salvage from day 43) has
    ``ANL01FL`` = N and counts toward no CAR-T response. A query of the records (a
    scan of the stored file), collected once by the caller: the records are not held
    beside the assessments joined from them."""
    require(assessments, "assessments", "subject_id", "assessment_date", "response", "mrd_pct")
    require(subjects, "subjects", "subject_id", "TRTSDT", "STRATUM", "ATTRENDT")
    wanted = subjects.lazy().select("subject_id", "TRTSDT", "STRATUM", "ATTRENDT")
    joined = assessments.join(wanted, on="subject_id", how="inner")
    attributable = pl.col("ATTRENDT").is_null() | (pl.col("assessment_date") < pl.col("ATTRENDT"))
    return joined.with_columns(
        study_day(pl.col("assessment_date")).alias("ADY"),
        attributable.alias("_attributable"),
        yn_flag(attributable).alias("ANL01FL"),
        is_remission(pl.col("response"), pl.col("mrd_pct"), pl.col("STRATUM")).alias("REMISSION"),
    )


def window_close_date(last_day: int) -> pl.Expr:
    """The date a response window ending on ``last_day`` closes: that day, or the
    subject's death or first other therapy, if earlier: the events after which no
    attributable assessment can come. A withdrawal or a loss to follow-up does not close
    it early: an assessment can follow one (a red team's subject lost on day 25 was
    assessed CR on day 28). Closing there made a closed outcome change with a later cut:
    the futility rule read "certain" at a cut between the loss and the assessment and
    reversed at the next. Such a subject is pending to the window's last day."""
    return pl.min_horizontal(pl.col("TRTSDT") + pl.duration(days=last_day), "DTHDT", "ATTRENDT")


def until_first_relapse(assessed: pl.DataFrame) -> pl.DataFrame:
    """The assessments on or before the subject's first ``RELAPSE`` (every one, without a
    relapse): a best response is the best before relapse (RECIST's "from the start of
    treatment until progression or recurrence"; admiralonco's ``filter_pd`` keeps the
    records up to and including the first progression), and so is a remission ORR3M counts.
    A red team's subject in CR on day 13, relapsed (CNS) on day 31 and in marrow CR on day
    41, with no therapy between, was CR by day 28 and an ORR3M responder while EFS counted
    the relapse (the rates one responder higher, until 2026-12-06). One assessment a day
    (the file's key), so none shares the relapse's day."""
    first = (
        assessed.filter(pl.col("response") == "RELAPSE")
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("_relapse"))
    )
    return (
        assessed.join(first, on="subject_id", how="left", maintain_order="left")
        .filter(pl.col("_relapse").is_null() | (pl.col("assessment_date") <= pl.col("_relapse")))
        .drop("_relapse")
    )


def best_response_day28(assessed: pl.DataFrame, subjects: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """``BOR28``: the best of CR > CRi > PR > NR > RELAPSE > NE among attributable
    assessments on day 21 to 42 up to the first relapse (``until_first_relapse``; a
    remission first, so an MRD-negative CR of an MRD-persistent entrant beats an
    MRD-positive one); ``PENDING`` while the window is open at the
    cut, responder so far or not (version 3: the symmetric evaluable set; version 2
    left out only pending non-responders, which enriched an interim rate for
    responders); ``RELAPSE`` after a first relapse before the window (whose assessments then
    count for nothing), else ``NE`` when it closed with no assessment in it.
    ``BORDT``/``BORDY``/``BORMRD``: the first assessment giving it. Flags: ``CRFL``
    remission, ``CR28FL`` CR, ``MRDNEGFL`` MRD-negative remission at any attributable
    CR/CRi in the window (version 3: version 2 looked only at the assessment giving
    the best response, so CR with MRD 0.5 % on day 27 then CR with MRD 0 on day 39
    was MRD-positive), ``D28PNDFL`` pending, ``D28ERLFL`` pending but already in
    remission (an early responder, shown apart as information) and ``D28CLSDT`` the
    date the window closes."""
    rank = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    to_relapse = until_first_relapse(assessed)
    window = to_relapse.filter(
        pl.col("_attributable")
        & pl.col("ADY").is_between(WINDOW_FIRST_DAY, WINDOW_LAST_DAY)
        & pl.col("response").is_in(RESPONSE_ORDER)
    )
    # a first relapse before the window: the window's assessments come after it and count for
    # nothing, so the best response by day 28 is that relapse (until 2026-12-06 NE, "no
    # assessment in days 21-42", for a red team's relapse on day 19 assessed again on day 31)
    relapsed_before = to_relapse.filter(
        pl.col("_attributable") & (pl.col("response") == "RELAPSE") & (pl.col("ADY") < WINDOW_FIRST_DAY)
    )
    best = (
        pl.concat([window, relapsed_before.join(window, on="subject_id", how="anti")])
        .with_columns(pl.col("response").replace_strict(rank, return_dtype=pl.Int32).alias("_rank"))
        .sort("subject_id", "REMISSION", "_rank", "assessment_date", descending=[False, True, False, False])
        .group_by("subject_id", maintain_order=True)
        .first()
        .select("subject_id", "response", "assessment_date", "ADY", "mrd_pct", "REMISSION")
    )
    mrd_negative_remission = window.filter(pl.col("REMISSION") & mrd_negative(pl.col("mrd_pct"))).pipe(
        _flagged, "_mrdneg"
    )
    out = (
        subjects.select(*SUBJECT_COLUMNS)
        .join(best, on="subject_id", how="left")
        .join(mrd_negative_remission, on="subject_id", how="left")
    )
    remission = pl.col("REMISSION").fill_null(False)
    closes = window_close_date(WINDOW_LAST_DAY)
    pending = closes > cut
    return out.with_columns(closes.alias("D28CLSDT")).select(
        "subject_id",
        pl.when(pending).then(pl.lit(PENDING)).otherwise(pl.col("response").fill_null("NE")).alias("BOR28"),
        pl.when(~pending).then(pl.col("assessment_date")).alias("BORDT"),
        pl.when(~pending).then(pl.col("ADY")).alias("BORDY"),
        pl.when(~pending).then(pl.col("mrd_pct")).alias("BORMRD"),
        yn_flag(remission).alias("CRFL"),
        yn_flag(remission & (pl.col("response") == "CR")).alias("CR28FL"),
        yn_flag(remission & pl.col("_mrdneg").fill_null(False)).alias("MRDNEGFL"),
        yn_flag(pending).alias("D28PNDFL"),
        yn_flag(pending & remission).alias("D28ERLFL"),
        "D28CLSDT",
    )


def early_response(assessed: pl.DataFrame, subjects: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """For EFS: ``RSP42FL`` (Y: an attributable remission at any assessment up to day
    42, the end of the day-28 window) and ``TRTFLFL`` (Y: treatment failure, known at
    the cut: no such remission, the window closed, and at least one disease
    assessment). endpoints.md: a subject in CR at day 14 who relapses at day 28
    responded; the EFS event is the relapse. Version 3: a subject without any
    disease assessment (withdrawn or lost before day 21) is not a treatment
    failure (version 2 made a withdrawal on day 10 an EFS event at day 1); EFS
    then censors at day 0, or takes a recorded death as the event."""
    early = assessed.filter(pl.col("_attributable") & (pl.col("ADY") <= WINDOW_LAST_DAY) & pl.col("REMISSION")).pipe(
        _flagged, "_early"
    )
    seen = _flagged(assessed, "_assessed")
    out = subjects.select(*SUBJECT_COLUMNS).join(early, on="subject_id", how="left")
    out = out.join(seen, on="subject_id", how="left")
    responded = pl.col("_early").fill_null(False)
    closed = window_close_date(WINDOW_LAST_DAY) <= cut
    failed = ~responded & closed & pl.col("_assessed").fill_null(False)
    return out.select("subject_id", yn_flag(responded).alias("RSP42FL"), yn_flag(failed).alias("TRTFLFL"))


def remission_dates(assessed: pl.DataFrame) -> pl.DataFrame:
    """``FRMDT``/``FRMDY``: the first attributable remission (for an MRD-persistent
    entrant the first MRD-negative one); ``LATERMFL``: Y when that is after day 42
    (a late responder, who enters DFS but is an EFS treatment failure);
    ``LSTREMDT``: the last CR/CRi assessment on or after it, the DFS censoring date."""
    # both streamed (``frames.streamed``), minima and maxima in no row order: the join of
    # 5.8 million assessments to the first remissions at a million subjects was held whole
    first = streamed(
        assessed.lazy()
        .filter(pl.col("_attributable") & pl.col("REMISSION"))
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("FRMDT"), pl.col("ADY").min().alias("FRMDY"))
    )
    last = streamed(
        assessed.lazy()
        .select("subject_id", "assessment_date", "response")
        .join(first.lazy(), on="subject_id", how="inner")
        .filter(pl.col("response").is_in(REMISSION) & (pl.col("assessment_date") >= pl.col("FRMDT")))
        .group_by("subject_id")
        .agg(pl.col("assessment_date").max().alias("LSTREMDT"))
    )
    return first.join(last, on="subject_id", how="left").with_columns(
        yn_flag(pl.col("FRMDY") > WINDOW_LAST_DAY).alias("LATERMFL")
    )


def relapse_after_remission(assessed: pl.DataFrame, remission: pl.DataFrame) -> pl.DataFrame:
    """``RELDT``: the first ``RELAPSE`` assessment after the first remission, with its
    site (``RELSITE``) and CD19 status (``RELCD19``). MRD reappearance alone is not
    relapse. A relapse after HSCT or new therapy still counts (the primary
    analyses do not censor at consolidation)."""
    relapses = (
        assessed.filter(pl.col("response") == "RELAPSE")
        .join(remission.select("subject_id", "FRMDT"), on="subject_id", how="inner")
        .filter(pl.col("assessment_date") > pl.col("FRMDT"))
    )
    return _first_relapse(relapses, "REL")


def _first_relapse(relapses: pl.DataFrame, stem: str) -> pl.DataFrame:
    """Each subject's first row of ``relapses`` (``RELAPSE`` assessments): its date, site
    and CD19 status as ``<stem>DT``, ``<stem>SITE``, ``<stem>CD19``."""
    return (
        relapses.sort("subject_id", "assessment_date")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select(
            "subject_id",
            pl.col("assessment_date").alias(f"{stem}DT"),
            pl.col("relapse_site").alias(f"{stem}SITE"),
            pl.col("cd19_at_relapse").alias(f"{stem}CD19"),
        )
    )


def relapse_after_infusion(
    assessed: pl.DataFrame, subjects: pl.DataFrame, after_remission: pl.DataFrame
) -> pl.DataFrame:
    """``RLAPDT``/``RLAPSITE``/``RLAPCD19``: the first relapse after CAR-T, for EFS and the
    relapse table. A morphologic entrant relapses from a CAR-T remission: its first
    relapse after the first remission (``RELDT``, from ``after_remission``). An
    MRD-persistent entrant is in morphologic remission from entry: its first
    ``RELAPSE`` after day 0, before any MRD conversion or without one. Before, such a
    relapse was kept only after the first MRD-negative remission, so a red team's
    relapse on day 14 left EFS censored at day 723 and a CD19-negative relapse of a
    subject never MRD-negative was in no table. DFS, CIR and DOR start at the first
    remission and keep ``RELDT``."""
    mrd_persistent = subjects.filter(pl.col("STRATUM") == MRD_PERSISTENT).select("subject_id")
    names = {"RELDT": "RLAPDT", "RELSITE": "RLAPSITE", "RELCD19": "RLAPCD19"}
    from_entry = _first_relapse(
        assessed.filter(pl.col("response") == "RELAPSE").join(mrd_persistent, on="subject_id", how="semi"), "RLAP"
    )
    morphologic = after_remission.join(mrd_persistent, on="subject_id", how="anti").rename(names)
    return pl.concat([morphologic, from_entry], how="vertical_relaxed")


#: an attributable assessment with one of these ends a remission (ORR3M: "no loss of CR/CRi")
LOSS_OF_REMISSION = ("PR", "NR", "RELAPSE")


def remission_ends(assessed: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """The study days on which a remission can end, one row per subject and day
    (``_end_day``): any ``RELAPSE`` assessment (attributable or not), any attributable
    PR/NR assessment, for an MRD-persistent entrant any attributable assessment whose
    MRD is measured and positive (their remission is MRD conversion, so MRD back is
    its loss, morphologic CR or not), and death; ``_death`` marks the death, which ends
    a remission assessed on its own day too."""
    relapse = pl.col("response") == "RELAPSE"
    lost = pl.col("_attributable") & pl.col("response").is_in(LOSS_OF_REMISSION)
    persistent = subjects.filter(pl.col("STRATUM") == MRD_PERSISTENT).select("subject_id")
    mrd_back = pl.col("_attributable") & (pl.col("mrd_pct") >= MRD_NEGATIVE_BELOW).fill_null(False)
    ended = pl.concat(
        [
            assessed.filter(relapse | lost).select("subject_id", "ADY"),
            assessed.filter(mrd_back).join(persistent, on="subject_id", how="semi").select("subject_id", "ADY"),
        ]
    )
    from_assessments = ended.select(
        "subject_id", pl.col("ADY").cast(pl.Int64).alias("_end_day"), pl.lit(False).alias("_death")
    )
    deaths = subjects.filter(pl.col("DTHDT").is_not_null() & pl.col("TRTSDT").is_not_null()).select(
        "subject_id",
        (pl.col("DTHDT") - pl.col("TRTSDT")).dt.total_days().cast(pl.Int64).alias("_end_day"),
        pl.lit(True).alias("_death"),
    )
    return pl.concat([from_assessments, deaths])


def overall_remission_3m(assessed: pl.DataFrame, subjects: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """``ORR3MFL``: Y when an attributable remission on day 0 to 91, before any relapse
    (``until_first_relapse``), was maintained for 28 days: within the 28 days after it (days
    d+1 to d+28) no relapse, no attributable PR, NR or RELAPSE assessment (for an
    MRD-persistent entrant, none MRD-positive either) and no death (``remission_ends``), and
    those 28 days had passed by the cut; ``ORR3MDT`` is the first such remission. Several
    remissions: any one maintained qualifies. The 28 days must be seen: a withdrawal or a
    loss to follow-up before they end, with no assessment after them, leaves the remission
    unseen, not maintained once they have passed by the cut (a red team's subject lost 11
    days after a CR was an ORR3M responder, 28 of 37 for 27, until 2026-12-06).
    ``ORR3MPFL``: pending (left out of the rate's denominator) while a remission awaits its
    28 days unbroken so far, or day 91 has not come and the subject is still followed on
    CAR-T alone. Version 3: version 2 looked only for a relapse record, so a remission ended
    by death on day 12 after it, or by an NR assessment, counted."""
    cut_day = study_day(pl.lit(cut))
    ends = remission_ends(assessed, subjects)
    candidates = (
        until_first_relapse(assessed)
        .filter(pl.col("_attributable") & pl.col("REMISSION") & (pl.col("ADY") <= ORR3M_LAST_DAY))
        .select("subject_id", "ADY", "assessment_date", "TRTSDT")
    )  # TRTSDT: the cut's study day
    # streamed: each remission against each end of its subject, held whole, was 0.6 GB at a
    # million subjects; only the broken (subject, day) pairs are kept, in no row order
    broken = streamed(
        candidates.lazy()
        .select("subject_id", "ADY")
        .join(ends.lazy(), on="subject_id", how="inner")
        .filter(
            ((pl.col("_end_day") > pl.col("ADY")) | (pl.col("_death") & (pl.col("_end_day") == pl.col("ADY"))))
            & (pl.col("_end_day") <= pl.col("ADY") + ORR3M_MAINTAINED_DAYS)
        )
        .select("subject_id", "ADY")
        .unique()
        .with_columns(pl.lit(True).alias("_broken"))
    )
    judged = candidates.join(broken, on=["subject_id", "ADY"], how="left").with_columns(
        pl.col("_broken").fill_null(False)
    )
    # a remission's 28 days are seen unless the subject withdrew or was lost before their
    # end with no assessment on or after it (an assessment can follow a loss)
    left = subjects.select(
        "subject_id", study_day(pl.min_horizontal("WDDT", "LOSTDT")).cast(pl.Int64).alias("_left_day")
    ).filter(pl.col("_left_day").is_not_null())
    last_seen = streamed(assessed.lazy().group_by("subject_id").agg(pl.col("ADY").max().alias("_last_day")))
    end = pl.col("ADY") + ORR3M_MAINTAINED_DAYS
    judged = (
        judged.join(left, on="subject_id", how="left")
        .join(last_seen, on="subject_id", how="left")
        .with_columns(
            ((pl.col("_left_day") < end) & (pl.col("_last_day").fill_null(-1) < end)).fill_null(False).alias("_unseen")
        )
    )
    maintained = streamed(
        judged.lazy()
        .filter(~pl.col("_broken") & ~pl.col("_unseen") & (pl.col("ADY") + ORR3M_MAINTAINED_DAYS <= cut_day))
        .group_by("subject_id")
        .agg(pl.col("assessment_date").min().alias("ORR3MDT"))
    )
    awaiting = judged.filter(~pl.col("_broken") & (pl.col("ADY") + ORR3M_MAINTAINED_DAYS > cut_day)).pipe(
        _flagged, "_awaiting"
    )
    out = (
        subjects.select(*SUBJECT_COLUMNS)
        .join(maintained, on="subject_id", how="left")
        .join(awaiting, on="subject_id", how="left")
    )
    responder = pl.col("ORR3MDT").is_not_null()
    open_window = window_close_date(ORR3M_LAST_DAY) > cut
    pending = ~responder & (pl.col("_awaiting").fill_null(False) | open_window)
    return out.select("subject_id", yn_flag(responder).alias("ORR3MFL"), "ORR3MDT", yn_flag(pending).alias("ORR3MPFL"))


def remission_lost_without_relapse(adrs: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """The subjects whose CR/CRi was followed by an NR or PR assessment with no ``RELAPSE``
    on or before it, one row each with ``LOSSDT``, the first such assessment. The
    specification counts that loss for ORR3M when it is attributable ("no attributable
    assessment without CR/CRi") but makes a relapse the time-to-event endpoints' event only
    as a ``RELAPSE`` assessment, so EFS, DFS, CIR and DOR count no relapse at the loss and
    follow such a subject to their other event or to censoring; the report says how many (a
    red team's relapse coded NR, 21 % blasts 18 months into a CR, took the event out of all
    four without a word; the synthetic drops have such subjects by design, a remission on
    day 14 lost by day 28). Read from ADRS's overall responses, whatever their attribution."""
    overall = adrs.lazy().filter(pl.col("PARAMCD") == "OVRLRESP").select("USUBJID", "ADT", "AVALC")
    firsts = overall.group_by("USUBJID").agg(
        pl.col("ADT").filter(pl.col("AVALC").is_in(REMISSION)).min().alias("_remission"),
        pl.col("ADT").filter(pl.col("AVALC") == "RELAPSE").min().alias("_relapse"),
    )
    lost = (
        overall.join(firsts, on="USUBJID")
        .filter(
            pl.col("AVALC").is_in(["PR", "NR"])
            & (pl.col("ADT") > pl.col("_remission"))
            & (pl.col("_relapse").is_null() | (pl.col("ADT") < pl.col("_relapse")))
        )
        .group_by("USUBJID")
        .agg(pl.col("ADT").min().alias("LOSSDT"))
    )
    return streamed(lost).sort("USUBJID")


def derive_response(assessments: pl.DataFrame | pl.LazyFrame, subjects: pl.DataFrame, cut: dt.date) -> pl.DataFrame:
    """Every response variable of ADSL, one row per infused subject in ``subjects``
    (``SUBJECT_COLUMNS``): day-28 best response and flags, early response for EFS,
    ORR3M, first remission, last assessment in remission and relapse. ``assessments``
    may be a scan of the stored records (``frames.scan``): the visit's name and the
    provenance, not read here, are then never read (5.8 million rows at a million
    subjects)."""
    require(subjects, "subjects", *SUBJECT_COLUMNS)
    # one query from the records to the assessments the parts read: the records were
    # collected, then joined, then extended, three copies of 5.8 million rows
    records = assessments.lazy().drop("visit", "_source_file", "_source_row", strict=False)
    assessed = (
        attributable_assessments(records, subjects)
        .drop("STRATUM", "ATTRENDT", "ANL01FL")  # the parts read these from ``subjects``
        .collect()
    )
    remission = remission_dates(assessed)
    relapse = relapse_after_remission(assessed, remission)
    out = subjects.select("subject_id")
    for part in (
        best_response_day28(assessed, subjects, cut),
        early_response(assessed, subjects, cut),
        overall_remission_3m(assessed, subjects, cut),
        remission,
        relapse,
        relapse_after_infusion(assessed, subjects, relapse),
    ):
        out = out.join(part, on="subject_id", how="left")
    return out

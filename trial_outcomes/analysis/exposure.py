"""Exposure to CAR-T (tern's EXT01): dose, lymphodepletion, bridging, time from
enrolment to infusion, and why enrolled subjects were not infused."""

from __future__ import annotations

import polars as pl

from trial_outcomes import labels
from trial_outcomes.analysis.cut import Records
from trial_outcomes.analysis.flags import yn_flag
from trial_outcomes.analysis.frames import require
from trial_outcomes.analysis.timeline import SPLIT_DOSE_DAYS

#: free text that records no bridging therapy, in lower case with every run of other
#: characters than letters and digits one space: a word for none first, whatever follows
#: ("None - in CR", "Nil", "No bridging was given", "Not bridged", "Without bridging"), or
#: bridging said not given ("Bridging not given"). "None" made BRIDGFL = Y for every
#: subject; until 2026-12-06 only a few exact spellings were read, and two red teams' 13
#: other wordings were each a "bridging therapy"
NO_BRIDGING = (
    r"^(none|nil|nothing|na|n a|0)\b",
    r"^no\b",
    r"^not (bridged|given|required|needed|applicable|indicated|received|administered|done|planned)\b",
    r"^without\b",
    r"^bridg(e|ing)( therapy| chemotherapy| treatment)? (not|none)\b",
)


def bridging_given(text: pl.Expr) -> pl.Expr:
    """Bridging therapy was given: a recorded therapy, not blank and not a word for none
    (``NO_BRIDGING``)."""
    cleaned = text.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()
    return text.is_not_null() & (cleaned != "") & ~pl.any_horizontal(cleaned.str.contains(p) for p in NO_BRIDGING)


NOT_INFUSED = labels.NOT_INFUSED  # code -> label; the codes are NINFCAT's values

EXPOSURE_COLUMNS = {
    "measure": pl.String,
    "category": pl.String,
    "n": pl.Int64,
    "pct": pl.Float64,
    "median": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "population_n": pl.Int64,
}


def exposure_variables(records: Records, collected: bool = True) -> pl.DataFrame:
    """Per infused subject, from the first infusion: ``DOSE`` (CAR+ T cells/kg: the
    first dose, a split dose's fractions within ``SPLIT_DOSE_DAYS`` of the first
    infusion summed, as the kinetics take them for one product: a red team's 10/30/60 %
    over three days was dosed by its 10 %, "below the range"), ``LDREGIM``,
    ``BRIDGING`` (text; null when none, in any of ``NO_BRIDGING``'s words, or not
    collected: the exposure table's "None") and ``BRIDGFL`` (Y when
    bridging therapy is recorded; empty when the drop does not collect it, ``collected``
    false: the infusion file has no bridging column. A blank is "none" in a file that has
    the column, as at an early cut whose few subjects had none. Until 2026-12-06 it was
    N without the column, and a red team's drop exported "not given" for every subject in
    ADSL's XPT, a pooled analysis's factor)."""
    infusion = require(
        records["infusion"], "infusion", "subject_id", "infusion_date", "dose_cells_per_kg", "ld_regimen", "bridging"
    )
    ordered = infusion.sort("subject_id", "infusion_date")
    split = pl.col("infusion_date") <= pl.col("infusion_date").first() + pl.duration(days=SPLIT_DOSE_DAYS)
    dose = ordered.group_by("subject_id", maintain_order=True).agg(
        pl.col("dose_cells_per_kg").filter(split).sum().alias("_dose")
    )
    first = ordered.group_by("subject_id", maintain_order=True).first().join(dose, on="subject_id", how="left")
    return first.select(
        "subject_id",
        pl.col("_dose").alias("DOSE"),
        pl.col("ld_regimen").alias("LDREGIM"),
        pl.when(bridging_given(pl.col("bridging"))).then(pl.col("bridging")).alias("BRIDGING"),
        (yn_flag(bridging_given(pl.col("bridging"))) if collected else pl.lit(None, pl.String)).alias("BRIDGFL"),
    )


def time_to_infusion(adsl: pl.DataFrame) -> pl.DataFrame:
    """``ENRINFDY``: days from enrolment to the first infusion (the vein-to-vein time
    as far as the drop shows it: apheresis is not collected); ``LDINFDY``: days
    from the start of lymphodepletion to infusion."""
    require(adsl, "ADSL", "ENRLDT", "TRTSDT", "LDSTDT")
    return adsl.with_columns(
        (pl.col("TRTSDT") - pl.col("ENRLDT")).dt.total_days().alias("ENRINFDY"),
        (pl.col("TRTSDT") - pl.col("LDSTDT")).dt.total_days().alias("LDINFDY"),
    )


PRODUCT_COLUMNS = {"APHDT": pl.Date, "PRODSTAT": pl.String, "PRODRLDT": pl.Date, "APHNINF": pl.String}


def product_variables(records: Records) -> pl.DataFrame:
    """From the optional apheresis file (data-contract.md, version 3): ``APHDT`` the
    leukapheresis, ``PRODSTAT`` the product (RELEASED, OOS_INFUSED: out of specification,
    infused under exception, FAILED: manufacturing failure, PENDING), ``PRODRLDT`` its
    release, ``APHNINF`` why the subject was not infused as the file records it. Empty
    (no rows) without the file."""
    aph = records.get("apheresis")
    if aph is None or aph.is_empty():
        return pl.DataFrame(schema={"subject_id": pl.String, **PRODUCT_COLUMNS})
    return aph.select(
        "subject_id",
        pl.col("apheresis_date").alias("APHDT"),
        pl.col("product_status").alias("PRODSTAT"),
        pl.col("release_date").alias("PRODRLDT"),
        pl.col("not_infused_reason").alias("APHNINF"),
    )


def vein_to_vein(adsl: pl.DataFrame) -> pl.DataFrame:
    """``V2VDY``: days from leukapheresis to the first infusion (the vein-to-vein time)."""
    require(adsl, "ADSL", "TRTSDT", "APHDT")
    return adsl.with_columns((pl.col("TRTSDT") - pl.col("APHDT")).dt.total_days().alias("V2VDY"))


def not_infused_reason(adsl: pl.DataFrame) -> pl.DataFrame:
    """``NINFCAT``: why an enrolled subject was not infused by the cut: the first of
    death, withdrawal and loss to follow-up (a death on the day of a withdrawal first; a
    withdrawal whose reason names manufacturing is a manufacturing failure; a red team's
    subject who withdrew in 2021 and died in 2023 was "Death before infusion"); then a
    product the apheresis file reports
    ``FAILED`` (a manufacturing failure recorded only there: a red team's subject with no
    withdrawal was "awaiting infusion", pending, and left out of the intention-to-treat
    denominator, 82/119 for 82/120); then the apheresis file's reason, ``APHNINF`` (it
    has no date, so ``adsl.derive_adsl`` empties it at a cut before the drop's latest
    record, which cannot tell whether it came before the cut: a red team's subject whose product was
    released in 2021 and not infused for progression stayed "awaiting infusion", pending,
    at a cut in 2024, and the ITT rate was 43/59 for 43/60); otherwise still awaiting
    infusion. ``NINFREAS`` keeps the text as recorded."""
    require(adsl, "ADSL", "TRTSDT", "DTHDT", "DTHCAUS", "WDDT", "WDREAS", "LOSTDT", "PRODSTAT", "APHNINF")
    failed = (pl.col("PRODSTAT") == "FAILED").fill_null(False)
    stated = pl.col("APHNINF").is_not_null()
    first = pl.min_horizontal("DTHDT", "WDDT", "LOSTDT")
    died, withdrew, lost = ((pl.col(c) == first).fill_null(False) for c in ("DTHDT", "WDDT", "LOSTDT"))
    withdrew = withdrew & ~died
    lost = lost & ~died & ~withdrew
    category = (
        pl.when(pl.col("TRTSDT").is_not_null())
        .then(None)
        .when(withdrew & pl.col("WDREAS").str.contains("(?i)manufactur").fill_null(False))
        .then(pl.lit("MANUFACTURING_FAILURE"))
        .when(died)
        .then(pl.lit("DEATH"))
        .when(withdrew)
        .then(pl.lit("WITHDRAWAL"))
        .when(lost)
        .then(pl.lit("LOST"))
        .when(failed)
        .then(pl.lit("MANUFACTURING_FAILURE"))
        .when(stated)
        .then(pl.col("APHNINF"))
        .otherwise(pl.lit("AWAITING"))
    )
    text = (
        pl.when(pl.col("TRTSDT").is_not_null())
        .then(None)
        .when(died)
        .then(pl.col("DTHCAUS").fill_null("cause not given"))
        .when(withdrew)
        .then(pl.col("WDREAS").fill_null("reason not given"))
        .when(lost)
        .then(pl.lit("Lost to follow-up"))
        .when(failed)
        .then(pl.lit("Manufacturing failure (apheresis: product FAILED)"))
        .when(stated)
        .then(pl.format("Apheresis file: not infused, {} (undated)", pl.col("APHNINF")))
        .otherwise(pl.lit("Awaiting infusion at the cut"))
    )
    return adsl.with_columns(category.alias("NINFCAT"), text.alias("NINFREAS"))


def _continuous(measure: str, values: pl.Series, n_population: int) -> dict[str, object]:
    values = values.drop_nulls().cast(pl.Float64)
    return {
        "measure": measure,
        "category": "",
        "n": values.len(),
        "pct": None,
        "median": values.median() if values.len() else None,
        "min": values.min(),
        "max": values.max(),
        "population_n": n_population,
    }


def _categories(
    measure: str, values: pl.Series, n_population: int, order: list[str] | None = None
) -> list[dict[str, object]]:
    counts = values.fill_null("None").value_counts()
    found = dict(zip(counts[values.name].to_list(), counts["count"].to_list(), strict=True))
    keys = order if order is not None else sorted(found)
    return [
        {
            "measure": measure,
            "category": k,
            "n": int(found.get(k, 0)),
            "pct": 100 * found.get(k, 0) / n_population if n_population else None,
            "median": None,
            "min": None,
            "max": None,
            "population_n": n_population,
        }
        for k in keys
    ]


DOSE_RANGE = "Dose against the protocol range"
DOSE_CATEGORIES = ["Below the range", "Within the range", "Above the range"]


def dose_category(dose: pl.Expr, low: float, high: float) -> pl.Expr:
    """Below, within (bounds included) or above the protocol's weight-based range."""
    return (
        pl.when(dose < low)
        .then(pl.lit(DOSE_CATEGORIES[0]))
        .when(dose > high)
        .then(pl.lit(DOSE_CATEGORIES[2]))
        .when(dose.is_not_null())
        .then(pl.lit(DOSE_CATEGORIES[1]))
    )


#: the ADSL columns ``exposure_summary`` reads
SUMMARY_COLUMNS = ("SAFFL", "DOSE", "LDREGIM", "BRIDGING", "BRIDGFL", "ENRINFDY", "LDINFDY", "NINFCAT", "NDOSE")
#: the bridging therapy's category when the drop does not collect it (``BRIDGFL`` empty):
#: until 2026-12-06 "None", every subject, beside the note saying it was not collected
NOT_COLLECTED = "Not collected"
#: the doses by the cut, a split dose's fractions one (``timeline.dose_count``): until
#: 2026-12-06 the infusions, so a red team's 10/30/60 % split read "3 or more" (the
#: report's method line says how a split dose counts: the label had wrapped in the table)
INFUSIONS = "CAR-T doses per subject"
INFUSION_CATEGORIES = ["1", "2", "3 or more"]


def infusion_count(n: pl.Expr) -> pl.Expr:
    """The count of a subject's doses by the cut (``NDOSE``) as the exposure table's category."""
    return pl.when(n >= 3).then(pl.lit(INFUSION_CATEGORIES[2])).otherwise(n.cast(pl.String))


def exposure_summary(adsl: pl.DataFrame, dose_range: tuple[float, float] = (0.2e6, 5.0e6)) -> pl.DataFrame:
    """``exposure_summary.csv``: over the safety set, dose (median, range) and against
    the protocol's weight-based range (the plan's ``[labs]`` dose_low_per_kg and
    dose_high_per_kg, bounds within), days from
    enrolment to infusion and from lymphodepletion to infusion, LD regimen,
    bridging therapy and the CAR-T doses per subject by the cut (a re-infusion
    is exposure, not a new day 0; counts and % of the safety set); over the enrolled subjects
    not infused, the reasons (manufacturing failure, death, withdrawal, lost,
    awaiting)."""
    safety = adsl.filter(pl.col("SAFFL") == "Y")
    n = safety.height
    rows: list[dict[str, object]] = [
        _continuous("Dose, CAR+ T cells/kg", safety["DOSE"], n),
        *_categories(
            DOSE_RANGE,
            safety.select(dose_category(pl.col("DOSE"), *dose_range).alias("range"))["range"],
            n,
            DOSE_CATEGORIES,
        ),
        _continuous("Days from enrolment to infusion", safety["ENRINFDY"], n),
        _continuous("Days from lymphodepletion start to infusion", safety["LDINFDY"], n),
        *_categories("Lymphodepletion regimen", safety["LDREGIM"], n),
        *_categories(
            "Bridging therapy",
            safety["BRIDGING"]
            if safety["BRIDGFL"].is_not_null().any()
            else pl.Series("BRIDGING", [NOT_COLLECTED] * n, dtype=pl.String),
            n,
        ),
        *_categories(INFUSIONS, safety.select(infusion_count(pl.col("NDOSE")).alias("k"))["k"], n, INFUSION_CATEGORIES),
    ]
    not_infused = adsl.filter(pl.col("SAFFL") == "N")
    rows += _categories("Enrolled, not infused", not_infused["NINFCAT"], not_infused.height, list(NOT_INFUSED))
    return pl.DataFrame(rows, schema=EXPOSURE_COLUMNS, orient="row")

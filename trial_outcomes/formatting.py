"""One formatter for every number a reader sees: the PDF, the HTML, the display
columns of the published CSVs and the Dagster UI's metadata all call these, so
the same figure reads the same everywhere (endpoints.md version 3, issue 20).

Conventions: percentages with one decimal; months with one decimal, and days
where a month figure would read 0.0; NR (median not reached) and NE (not
estimable); a dose as ``1.2 x 10^6 cells/kg``; a landmark rate with its number
at risk, marked when fewer than ``FEW_AT_RISK`` subjects remain.
"""

from __future__ import annotations

import math
from typing import Any

from trial_outcomes.dates import DAYS_PER_MONTH

#: a landmark estimate resting on fewer subjects at risk than this is marked (imprecise)
FEW_AT_RISK = 10
FEW_AT_RISK_MARK = "*"
#: what a landmark rate with nobody at risk is (a statistician read a relapse incidence of
#: 100 % at 6 months, 0 at risk, at a cut whose longest follow-up was 3 months, as resting
#: on nothing: it is the curve's final value, R's ``summary(fit, times, extend = TRUE)``)
ENDED_NOTE = (
    "0 at risk: the curve ended before the landmark with an event for every subject still at risk, so the "
    "rate is final, however few it rests on; past the last follow-up a rate is otherwise NE"
)
FEW_AT_RISK_NOTE = (
    f"[n]: subjects at risk at the landmark, and at a median reached with fewer than {FEW_AT_RISK} at risk; "
    f"{FEW_AT_RISK_MARK} fewer than {FEW_AT_RISK}: the estimate is imprecise; {ENDED_NOTE}."
)


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "NE"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def count_pct(n: int, total: int) -> str:
    """``12 (10.6%)``; the count alone over an empty denominator."""
    return f"{n} ({100 * n / total:.1f}%)" if total else f"{n}"


def _percent(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "NE"
    text = f"{100 * v:.{digits}f}"
    return "0.0" if text in ("-0.0", "-0.00") else text


def pct(rate: float | None, digits: int = 1) -> str:
    """``56.0%``; NE where not estimable."""
    return "NE" if rate is None else f"{_percent(rate, digits)}%"


def pct_ci(rate: float | None, lcl: float | None, ucl: float | None, digits: int = 1) -> str:
    """``56.0% (45.1-66.3)``; NE where not estimable."""
    if rate is None:
        return "NE"
    return f"{_percent(rate, digits)}% ({_percent(lcl, digits)}-{_percent(ucl, digits)})"


def pct_ci_short(rate: float | None, lcl: float | None, ucl: float | None) -> str:
    """``56.0 (45.1-66.3)``: a percentage and its CI, the % in the column header."""
    if rate is None:
        return "NE"
    return f"{_percent(rate)} ({_percent(lcl)}-{_percent(ucl)})"


def at_risk(text: str, n_risk: int | None, short: bool = False) -> str:
    """A landmark estimate with its number at risk: ``56.0% (45.1-66.3); 34 at risk``,
    or in a table column ``56.0 (45.1-66.3) [34]``; marked ``FEW_AT_RISK_MARK`` when
    fewer than ``FEW_AT_RISK`` remain."""
    if n_risk is None or text == "NE":
        return text
    mark = FEW_AT_RISK_MARK if few_followed(n_risk) else ""
    return f"{text} [{n_risk}]{mark}" if short else f"{text}; {n_risk} at risk{mark}"


def few_followed(n_risk: int | None) -> bool:
    """Whether an estimate rests on fewer than ``FEW_AT_RISK`` subjects still followed (a
    landmark rate, a median): the one threshold the tables, page 1 and the legends mark."""
    return n_risk is not None and n_risk < FEW_AT_RISK


def few_marked(text: str, n_risk: int | None) -> str:
    """An estimate (a landmark rate, a median) with its number at risk and the mark when it
    rests on fewer than ``FEW_AT_RISK`` (``5.2 (1.1-NE) [3]*``); as it is otherwise, and
    when there is no estimate (NE, NR): nothing rests on the few."""
    if not few_followed(n_risk) or text in ("NE", "NR"):
        return text
    return f"{text} [{n_risk}]{FEW_AT_RISK_MARK}"


def few_at_median(text: str, n_risk: int | None, short: bool = False) -> str:
    """A median with its number at risk when fewer than ``FEW_AT_RISK`` are followed at it
    (``5.2 (1.1-NE) [3]*``, or ``...; 3 at risk at the median*``): a median one or two events
    decide is marked as the landmarks are; one with enough at risk, or not reached, as it is."""
    if short:
        return few_marked(text, n_risk)
    if not few_followed(n_risk):
        return text
    return f"{text}; {n_risk} at risk at the median{FEW_AT_RISK_MARK}"


def day_count(days: float) -> str:
    """A count of days as it is: ``78``, and a median between two days ``77.5`` (rounded to
    whole days, Python's half-to-even gave 77.5 -> 78 beside 74.5 -> 74 in one table, which
    a DSMB reviewer read as an error: 2026-12-07); other fractions to one decimal."""
    text = f"{days:.1f}"
    return text[:-2] if text.endswith(".0") else text


def months(days: float | None) -> str:
    """Days as months with one decimal (``13.3``); under 1.5 days, where that would
    read ``0.0``, the days themselves (``1 d``); NE when missing."""
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return "NE"
    if abs(days) < 1.5 and days != 0:
        return f"{days:.0f} d"
    return f"{days / DAYS_PER_MONTH:.1f}"


def median_months_days(median: float | None, lcl: float | None, ucl: float | None) -> str:
    """``13.3 mo (405 d); 95% CI 10.1-NE mo``; NR (not reached) when the median is not estimable."""
    if median is None:
        lower = "" if lcl is None else f"; 95% CI {months(lcl)}-NE mo"
        return "NR" + lower
    return f"{months(median)} mo ({day_count(median)} d); 95% CI {months(lcl)}-{months(ucl)} mo"


def median_ci_months(median: float | None, lcl: float | None, ucl: float | None) -> str:
    """``13.3 (10.1-NE)`` in months; ``NR (24.2-NE)`` when not reached."""
    return f"{'NR' if median is None else months(median)} ({months(lcl)}-{months(ucl)})"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def dose(cells_per_kg: float | None, unit: str = " cells/kg") -> str:
    """``1.2 x 10^6 cells/kg`` (two significant digits; the protocol's notation),
    ``-`` when missing. ``8.97e+05`` reads ``9.0 x 10^5 cells/kg``."""
    if cells_per_kg is None or (isinstance(cells_per_kg, float) and math.isnan(cells_per_kg)):
        return "-"
    if cells_per_kg == 0:
        return f"0{unit}"
    exponent = math.floor(math.log10(abs(cells_per_kg)))
    mantissa = round(cells_per_kg / 10**exponent, 1)
    if abs(mantissa) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f} x 10^{exponent}{unit}"


def number(value: float | None, digits: int = 0) -> str:
    """A count or a day as written in a table: ``-`` when missing, no trailing ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if float(value).is_integer() and digits == 0:
        return str(int(value))
    return f"{value:.{digits}f}"


def median_range(median: float | None, low: float | None, high: float | None, as_dose: bool = False) -> str:
    """``12 (3-40)``; doses as ``1.2 x 10^6 (0.5 x 10^6-4.9 x 10^6) cells/kg``."""
    if median is None:
        return "-"
    if as_dose:
        return f"{dose(median, '')} ({dose(low, '')} to {dose(high, '')}) cells/kg"
    return f"{number(median, 0 if float(median).is_integer() else 1)} ({number(low)}-{number(high)})"


def signed(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A difference between two cuts: ``+2.3 pp``, ``-1.0 mo``, ``0.0`` (never ``-0.0``); NE when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NE"
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return f"{text}{unit}"


def landmark_rate(row: dict[str, Any], details: dict[str, Any], months_: int, short: bool = False) -> str:
    """A ``survival_summary`` row's estimate at ``months_`` months with its CI
    (``rate_<m>m``, ``_lcl``, ``_ucl``) and the number at risk from the matching
    ``survival_details`` row (``nrisk_<m>m``)."""
    key = f"rate_{months_}m"
    text = (pct_ci_short if short else pct_ci)(row[key], row[f"{key}_lcl"], row[f"{key}_ucl"])
    return at_risk(text, details.get(f"nrisk_{months_}m"), short)


def ratio_ci(estimate: float | None, lcl: float | None, ucl: float | None) -> str:
    """A hazard ratio with its CI: ``0.91 (0.45-1.83)``; ``NE`` when not estimable."""
    if estimate is None or lcl is None or ucl is None:
        return "NE"
    return f"{estimate:.2f} ({lcl:.2f}-{ucl:.2f})"


def p_value(p: float | None) -> str:
    """``0.043``; ``<0.001`` below a thousandth; empty when there is no test."""
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_stated(p: float) -> str:
    """``p = 0.043``; ``p < 0.001`` below a thousandth, where three decimals would print
    ``p = 0.000`` (a figure's title at a million subjects printed it 18 times)."""
    shown = p_value(p)
    return f"p < {shown[1:]}" if shown.startswith("<") else f"p = {shown}"

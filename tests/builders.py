"""A tiny hand-made trial, written in study days, for rule tests.

Day 0 is 2021-01-01 for every subject unless said otherwise, so a docstring
can state its worked example in days. ``derive`` runs exactly the derivation
chain the assets run (``analysis.derive.derive_all``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from trial_outcomes.analysis.derive import DEFAULT_SUBGROUPS, Derived, derive_all
from trial_outcomes.schema import CRITERIA, SCHEMAS

DAY0 = dt.date(2021, 1, 1)
_DTYPES = {"date": pl.Date, "number": pl.Float64, "integer": pl.Int64, "yn": pl.Boolean}


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


class Trial:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {r: [] for r in SCHEMAS}

    def enrol(self, sid: str, enrol_day: int = -10, **values: Any) -> Trial:
        row = dict(
            subject_id=sid,
            site="X",
            consent_date=day(enrol_day - 1),
            enrol_date=day(enrol_day),
            age_years=8.0,
            sex="F",
            diagnosis_date=day(-400),
            disease_status="relapsed",
            prior_relapses=1,
            prior_hsct=False,
            cd19_pct=99.0,
            bm_blast_pct=50.0,
            pb_blast_pct=5.0,
            csf_blasts_per_ul=0.0,
            emd=False,
            fusion_gene="none",
            ecog=1,
            creatinine_x_uln=0.5,
            bun_x_uln=0.5,
        )
        row.update(values)
        self.rows["enrolment"].append(row)
        for c in CRITERIA:
            self.rows["eligibility"].append(dict(subject_id=sid, criterion=c, met=c.startswith("IN")))
        return self

    def infuse(self, sid: str, at: int = 0, ld: int = -5, dose: float = 1e6, bridging: str | None = None) -> Trial:
        self.rows["infusion"].append(
            dict(
                subject_id=sid,
                ld_regimen="FC",
                ld_start_date=day(at + ld),
                infusion_date=day(at),
                dose_cells_per_kg=dose,
                product_lot="L",
                bridging=bridging,
            )
        )
        return self

    def assess(
        self,
        sid: str,
        at: int,
        response: str,
        mrd: float | None = None,
        visit: str = "V",
        site: str | None = None,
        cd19: str | None = None,
    ) -> Trial:
        self.rows["assessments"].append(
            dict(
                subject_id=sid,
                assessment_date=day(at),
                visit=visit,
                response=response,
                mrd_pct=mrd,
                relapse_site=site,
                cd19_at_relapse=cd19,
            )
        )
        return self

    def event(self, sid: str, at: int, event: str, detail: str | None = None, category: str | None = None) -> Trial:
        self.rows["followup"].append(
            dict(subject_id=sid, event_date=day(at), event=event, detail=detail, cause_category=category)
        )
        return self

    def ae(
        self,
        sid: str,
        term: str,
        onset: int,
        grade: int,
        resolved: int | None = None,
        toci: bool = False,
        steroid: bool = False,
        soc: str | None = None,
        serious: bool | None = None,
        related: bool = True,
    ) -> Trial:
        n = sum(r["subject_id"] == sid for r in self.rows["adverse_events"]) + 1
        self.rows["adverse_events"].append(
            dict(
                subject_id=sid,
                ae_id=f"AE{n}",
                term=term,
                soc=soc,
                onset_date=day(onset),
                resolution_date=None if resolved is None else day(resolved),
                grade=grade,
                serious=grade >= 3 if serious is None else serious,
                related=related,
                tocilizumab=toci,
                corticosteroids=steroid,
            )
        )
        return self

    def apheresis(
        self, sid: str, at: int, status: str, released: int | None = None, not_infused: str | None = None
    ) -> Trial:
        self.rows["apheresis"].append(
            dict(
                subject_id=sid,
                apheresis_date=day(at),
                product_status=status,
                release_date=None if released is None else day(released),
                not_infused_reason=not_infused,
            )
        )
        return self

    def lab(self, sid: str, test: str, *values: tuple[int, float], blq: bool | None = None) -> Trial:
        """Samples of one test: (study day, value) pairs."""
        for at, value in values:
            self.rows["labs"].append(dict(subject_id=sid, sample_date=day(at), test=test, value=value, below_lloq=blq))
        return self

    def ltfu(self, sid: str, at: int, event: str, result: str | None = None, detail: str | None = None) -> Trial:
        self.rows["long_term_followup"].append(
            dict(subject_id=sid, event_date=day(at), event=event, result=result, detail=detail)
        )
        return self

    def crs(self, sid: str, at: int, temp: float, hypotension: str = "NONE", oxygen: str = "NONE") -> Trial:
        self.rows["crs_monitoring"].append(
            dict(subject_id=sid, obs_date=day(at), max_temp_c=temp, hypotension=hypotension, oxygen=oxygen)
        )
        return self

    def icans(
        self,
        sid: str,
        at: int,
        ice: int | None = None,
        capd: int | None = None,
        unable: bool | None = None,
        consciousness: str = "AWAKE",
        seizure: str = "NONE",
        motor: bool = False,
        edema: str = "NONE",
    ) -> Trial:
        self.rows["icans_monitoring"].append(
            dict(
                subject_id=sid,
                obs_date=day(at),
                ice_score=ice,
                capd_score=capd,
                unable_capd=unable,
                consciousness=consciousness,
                seizure=seizure,
                motor_weakness=motor,
                cerebral_edema=edema,
            )
        )
        return self

    def records(self) -> dict[str, pl.DataFrame]:
        out = {}
        for record, rows in self.rows.items():
            schema = SCHEMAS[record]
            frame = pl.DataFrame(
                [{c: r.get(c) for c in schema.column_names} for r in rows],
                schema={c.name: _DTYPES.get(c.kind, pl.String) for c in schema.columns},
            )
            out[record] = frame.with_columns(
                pl.lit(f"{record}.csv").alias("_source_file"),
                (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("_source_row"),
            )
        return out

    def write_drop(self, folder: Path) -> Path:
        """The trial as an EDC drop of CSV files (a file per record; the optional
        monitoring files only when they have rows, and ``drop_info.toml`` naming the
        required files that have none)."""
        folder.mkdir(parents=True, exist_ok=True)
        empty = []
        for record, frame in self.records().items():
            schema = SCHEMAS[record]
            if frame.is_empty() and not schema.required_file:
                continue
            if frame.is_empty():
                empty.append(record)
            out = frame.drop("_source_file", "_source_row").with_columns(
                pl.col(c).replace_strict({True: "Y", False: "N"}, return_dtype=pl.String)
                for c, t in frame.schema.items()
                if t == pl.Boolean
            )
            out.write_csv(folder / f"{record}.csv")
        if empty:
            (folder / "drop_info.toml").write_text("empty_files = [" + ", ".join(f'"{r}"' for r in empty) + "]\n")
        return folder

    def derive(self, cut_day: int = 1000, subgroups: tuple[str, ...] = DEFAULT_SUBGROUPS) -> Derived:
        return derive_all(self.records(), day(cut_day), subgroups)


def tte(derived: Derived, paramcd: str, sid: str = "S1", analysis: str = "primary") -> dict[str, Any] | None:
    """The ADTTE row of one subject, endpoint and analysis, or None if absent."""
    rows = derived.adtte.filter(
        (pl.col("PARAMCD") == paramcd) & (pl.col("ANALYSIS") == analysis) & (pl.col("USUBJID") == sid)
    )
    return rows.row(0, named=True) if rows.height else None


def adsl_row(derived: Derived, sid: str = "S1") -> dict[str, Any]:
    return derived.adsl.filter(pl.col("USUBJID") == sid).row(0, named=True)


def adae_rows(derived: Derived, sid: str = "S1") -> list[dict[str, Any]]:
    return derived.adae.filter(pl.col("USUBJID") == sid).sort("ASTDT", "AESPID").to_dicts()

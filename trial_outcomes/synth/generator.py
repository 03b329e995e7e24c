"""Write a synthetic data drop: ``trial-outcomes synth``.

Subjects are simulated in blocks of ``BLOCK`` with one random generator per
block, seeded by (seed, block number), and each block is appended to the
files as soon as it is made, so memory stays flat however many subjects
are asked for, and the same seed gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from trial_outcomes.schema import DROP_INFO_FILE, SCHEMAS
from trial_outcomes.synth.dsmb import DSMB_RECORDS, simulate_dsmb
from trial_outcomes.synth.model import Subject, simulate_subject

#: the records the model simulates: every file of the contract, the optional DSMB-package
#: files (apheresis, labs, long-term follow-up) drawn by synth/dsmb.py with their own generator
SIMULATED: tuple[str, ...] = tuple(r for r in SCHEMAS if r in {f.name for f in dataclasses.fields(Subject)})

BLOCK = 2000
#: the DSMB files' generator, seeded apart from the course's (27: the seed-7 sample has a
#: secondary malignancy and each new disorder, and no T-cell malignancy)
DSMB_STREAM = 27
ACCRUAL_START = dt.date(2020, 6, 1)
ACCRUAL_DAYS = 1000
EXPORT_DAY = 1400  # days after the accrual start: the drop's latest date
EPOCH = dt.date(1970, 1, 1)


class Progress:
    """A progress bar on a terminal; on anything else (a log, CI) a line every 10 %."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled and total > BLOCK
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        share = done / self.total
        if self.tty:
            bar = "#" * int(30 * share)
            print(f"\r  [{bar:<30}] {done:,}/{self.total:,} subjects", end="", file=sys.stderr, flush=True)
            if done == self.total:
                print(file=sys.stderr)
        elif int(share * 10) > self.shown:
            self.shown = int(share * 10)
            print(f"  {done:,}/{self.total:,} subjects", file=sys.stderr, flush=True)


def _frame(rows: list[dict[str, Any]], record: str) -> pl.DataFrame:
    """Rows of one record type as text, with dates in ISO form."""
    schema = SCHEMAS[record]
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(schema.column_names, pl.String))
    frame = pl.DataFrame(rows, infer_schema_length=None)
    exprs = []
    for col in schema.columns:
        if col.kind == "date":
            exprs.append(pl.col(col.name).cast(pl.Int32).cast(pl.Date).cast(pl.String))
        else:
            exprs.append(pl.col(col.name).cast(pl.String))
    return frame.select(exprs)


def generate(
    out_dir: Path, subjects: int, seed: int, fmt: str = "csv", progress: bool = False, without_dsmb_files: bool = False
) -> dict[str, int]:
    """Write ``subjects`` synthetic subjects to ``out_dir``; return row counts per file.
    ``without_dsmb_files``: no apheresis, labs or long-term follow-up file (the
    others are the same bytes either way: those three draw from their own stream)."""
    records = tuple(r for r in SIMULATED if not (without_dsmb_files and r in DSMB_RECORDS))
    out_dir.mkdir(parents=True, exist_ok=True)
    start = (ACCRUAL_START - EPOCH).days
    export = start + EXPORT_DAY
    width = max(3, len(str(subjects)))
    tmp_paths = {r: out_dir / f".{r}.csv.partial" for r in records}
    counts = dict.fromkeys(records, 0)
    handles = {r: open(p, "wb") for r, p in tmp_paths.items()}  # noqa: SIM115 - closed in finally
    bar = Progress(subjects, progress)
    try:
        for block, first in enumerate(range(0, subjects, BLOCK)):
            rng = np.random.default_rng([seed, block])
            dsmb_rng = np.random.default_rng([seed, block, DSMB_STREAM])  # the required files stay as they were
            n = min(BLOCK, subjects - first)
            enrol_days = np.sort(start + (rng.random(n) * ACCRUAL_DAYS).astype(int))
            batch: dict[str, list[dict[str, Any]]] = {r: [] for r in records}
            for i in range(n):
                subject: Subject = simulate_subject(rng, f"BR-{first + i + 1:0{width}d}", int(enrol_days[i]), export)
                if not without_dsmb_files:
                    simulate_dsmb(dsmb_rng, subject, export)
                batch["enrolment"].append(subject.enrolment)
                for record in records:
                    if record != "enrolment":
                        batch[record].extend(getattr(subject, record))
            for record, rows in batch.items():
                frame = _frame(rows, record)
                frame.write_csv(handles[record], include_header=block == 0, null_value="")
                counts[record] += frame.height
            bar.update(first + n)
    finally:
        for h in handles.values():
            h.close()
    for record, tmp in tmp_paths.items():
        final = out_dir / f"{record}.{fmt}"
        if fmt == "csv":
            os.replace(tmp, final)
            continue
        frame = pl.read_csv(tmp, infer_schema=False)
        if fmt == "parquet":
            frame.write_parquet(final, statistics=False)
        else:
            frame.write_excel(final)
        tmp.unlink()
    _declare_empty_files(out_dir, sorted(r for r, n in counts.items() if n == 0))
    return counts


#: the first line of a drop_info.toml that ``generate`` wrote (and may replace)
DROP_INFO_MARK = "# written by trial-outcomes synth"


def _declare_empty_files(out_dir: Path, empty: list[str]) -> None:
    """A small drop can simulate no row of a record (no ICANS monitoring among two
    subjects): its file is written with a header only and declared in
    ``drop_info.toml``, as the data contract asks of a real export, so the pipeline
    reads it instead of refusing it. A drop_info.toml that synth wrote earlier is
    replaced, or removed when nothing is empty; one written by hand is never touched."""
    path = out_dir / DROP_INFO_FILE
    ours = not path.exists() or path.read_text(encoding="utf-8").startswith(DROP_INFO_MARK)
    if not ours:
        return
    if empty:
        listed = ", ".join(f'"{r}"' for r in empty)
        path.write_text(f"{DROP_INFO_MARK}: records it simulated no row of\nempty_files = [{listed}]\n", "utf-8")
    elif path.exists():
        path.unlink()

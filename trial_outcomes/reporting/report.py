"""Assemble the DSMB report of one data cut: page 1 is the executive summary (a
crossed stopping boundary first, in red), then subjects, efficacy, safety, the
course of each subject, the stopping rules, the changes since the previous cut
and the provenance. Tables and figures are numbered in reading order."""

from __future__ import annotations

from typing import NamedTuple

from trial_outcomes.reporting.content import Document, Section
from trial_outcomes.reporting.efficacy import efficacy_sections, subject_sections
from trial_outcomes.reporting.inputs import ReportInputs
from trial_outcomes.reporting.laboratory import laboratory_sections
from trial_outcomes.reporting.safety import (
    changes_section,
    course_section,
    empty_statistics_note,
    safety_sections,
    stopping_section,
)
from trial_outcomes.reporting.summary import about, executive_summary


class ReportMade(NamedTuple):
    """What the report step hands on (its files go to the cut's folder): its sections'
    titles, and the Deaths section's open data queries in page 1's words
    (``ReportInputs.death_query_titles``), which ``published_cut`` writes to the manifest
    as they were counted, not counted again (until 2026-12-06 both steps computed them)."""

    sections: list[str]
    death_queries: list[str]


TITLE = "NCT04325841: anti-CD19 CAR-T in children with relapsed or refractory B-ALL"


def build_document(inp: ReportInputs) -> Document:
    sections: list[Section] = [
        executive_summary(inp),
        *subject_sections(inp),
        *efficacy_sections(inp),
        *safety_sections(inp),
        *laboratory_sections(inp),
        course_section(inp),
        stopping_section(inp),
    ]
    changes = changes_section(inp)
    if changes is not None:
        sections.append(changes)
    last = about(inp)
    note = empty_statistics_note(inp)
    if note is not None:
        last.blocks.append(note)
    sections.append(last)
    return Document(
        TITLE, f"Interim analysis report for the DSMB, data cut {inp.cut}", inp.cut, inp.code_version, sections
    ).number()

"""The project's own error type: every refusal of input names where it is."""

from __future__ import annotations

from dataclasses import dataclass

SHOWN = 20  # problems spelled out in one message; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One finding about one place in the input: file, row, column, value, the
    subject it concerns (so a data manager can raise a query) and the rule."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    subject: str | None = None

    def __str__(self) -> str:
        from trial_outcomes.text import printable  # escapes control and bidirectional characters

        where = printable(self.file)
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:  # a settings file (drop_info.toml) has keys, not columns
            where += f", {'key' if self.file.endswith('.toml') else 'column'} {printable(self.column)}"
        if self.value is not None:
            shown = self.value if len(self.value) <= 80 else f"{self.value[:77]}... ({len(self.value):,} characters)"
            where += f", value {printable(repr(shown))}"
        if self.subject is not None:
            where += f", subject {printable(self.subject)}"
        return f"{where}: {printable(self.rule)}"


class DataDropError(Exception):
    """Input that cannot be read or trusted. The message is for people."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = problems if isinstance(problems, list) else [problems]
        shown = "\n".join(f"  - {p}" for p in self.problems[:SHOWN])
        more = len(self.problems) - SHOWN
        if more > 0:
            shown += f"\n  ... and {more} more"
        super().__init__(f"data drop refused:\n{shown}")


class UsageError(Exception):
    """A command or option the user gave that cannot be carried out (exit 2)."""


#: what the file system and SQLite say when the disk is full
DISK_FULL = ("No space left on device", "database or disk is full")


#: what the file system says when a file or folder may not be written or read (its
#: permissions, or a file system mounted read-only)
NOT_PERMITTED = ("Read-only file system", "Permission denied")


def line_saying(text: str, markers: tuple[str, ...]) -> str | None:
    """The first line of ``text`` holding one of ``markers``, or None."""
    return next((line.strip() for line in text.splitlines() if any(m in line for m in markers)), None)


def disk_full_line(text: str) -> str | None:
    """The line of ``text`` that says the disk is full (``DISK_FULL``), or None."""
    return line_saying(text, DISK_FULL)


def disk_full(exc: BaseException) -> str | None:
    """What says the disk is full in ``exc`` or in what caused it (``ENOSPC``, SQLite's
    "database or disk is full"), or None."""
    import errno

    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        text = str(link)
        if isinstance(link, OSError) and link.errno == errno.ENOSPC:
            return disk_full_line(text) or text.strip() or repr(link)
        line = disk_full_line(text)
        if line is not None:
            return line
        link = link.__cause__ or link.__context__
    return None

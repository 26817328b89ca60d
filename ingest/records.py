"""Plain records passed from ingest to the later stages.

Line numbers are 1-based lines of the source text file, inclusive: ``(first, last)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LineSpan = tuple[int, int]


@dataclass(frozen=True)
class Chapter:
    number: int | None  # None for the front matter before the first numbered chapter
    title: str | None  # None when the report prints no heading for the chapter
    lines: LineSpan

    @property
    def display(self) -> str:
        if self.number is None:
            return self.title or "Innledning"
        return f"{self.number:02d} {self.title}" if self.title else f"Kapittel {self.number:02d}"


@dataclass(frozen=True)
class Passage:
    """A prose unit: a paragraph or a bullet, sentences kept whole."""

    text: str  # cleaned for indexing (soft hyphens, odd spaces, line-break hyphens removed)
    raw: str  # as printed, for quoting
    lines: LineSpan
    chapter: Chapter
    section: str | None = None  # the nearest sub-heading above the passage
    kind: Literal["paragraph", "bullet", "footnote"] = "paragraph"  # footnote: of a table


@dataclass(frozen=True)
class Cell:
    column: str
    raw: str  # as printed, footnote markers removed; "" for an empty cell
    value: float | None  # parsed Norwegian number; None for empty or text cells


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    lines: LineSpan
    source: str  # the raw source line(s) of the row
    uncertain: bool = False
    reason: str | None = None  # why the row is uncertain, or how an ambiguity was settled
    section: str | None = None  # a label-only row above (e.g. "Barnevern")
    footnotes: tuple[str, ...] = ()  # footnote markers found on the label or cells
    note: str | None = None  # the note number a 'Note' column gives the row ('14')

    def cell(self, column: str) -> Cell | None:
        return next((c for c in self.cells if c.column == column), None)


@dataclass(frozen=True)
class Footnote:
    marker: str
    text: str
    lines: LineSpan


@dataclass(frozen=True)
class Table:
    number: str | None  # as printed: "7", "4.7"; None for an uncaptioned tabular block
    caption: str
    unit: str | None
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    lines: LineSpan
    chapter: Chapter
    footnotes: tuple[Footnote, ...] = ()
    label_header: str | None = None  # header over the label column, e.g. "Sektor og programområder"
    group_header: str | None = None  # a spanning header above the column names
    attached_to: str | None = None  # for an uncaptioned block printed right under a numbered table

    @property
    def cite_number(self) -> str | None:
        return self.number if self.number is not None else self.attached_to

    def row(self, label: str) -> Row | None:
        return next((r for r in self.rows if r.label == label), None)


@dataclass(frozen=True)
class ReportMeta:
    """What a report is: read from its text by the parser, overridable at ingest."""

    id: str  # short, stable, url-safe: "baerum-2020"
    title: str  # as printed on the front page, e.g. "Årsrapport 2020"
    municipality: str | None  # "Bærum kommune"
    year: int | None  # the year the report is about


@dataclass(frozen=True)
class Report:
    source_name: str
    source_sha256: str
    lines: tuple[str, ...]  # raw source lines; lines[i - 1] is line i
    chapters: tuple[Chapter, ...]
    passages: tuple[Passage, ...]
    tables: tuple[Table, ...]
    meta: ReportMeta | None = None
    # first source line (1-based) of each printed page, in order; () when the source has no
    # page markers (PDF page breaks, form feeds, «side N» footers)
    page_starts: tuple[int, ...] = ()

    def page_of(self, line: int) -> int | None:
        """The 1-based page a source line is on, or None when the report has no page markers."""
        import bisect

        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, line))

    def line_text(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1 : last])

    def table(self, number: str | int) -> Table | None:
        return next((t for t in self.tables if t.number == str(number)), None)

"""PDF -> text with table columns taken from x positions on the page.

Words come with their boxes from the PDF library (PyMuPDF, see docs/PDF.md for why; pdfplumber
gives the same words and is kept as the compared alternative). Words on one baseline make a
line; a gap much wider than a space splits a line into cells. In a run of lines that hold a
label and numbers (a table region), the right edges of the numeric cells give the columns: each
row is written as 'label<TAB>cell<TAB>cell...' with an empty field where a column has no number,
and the header lines just above are merged column by column into one tab-separated line. Other
lines are words joined by spaces. Pages are joined with a form feed, which the parser reads as a
page break.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.headers import is_period
from ingest.layouts import single_value
from ingest.rowparse import tokenize

BACKENDS = ("pymupdf", "pdfplumber")
# pdfplumber (MIT) by default: PyMuPDF is faster with the same cells but AGPL-3.0 (docs/PDF.md);
# Settings.pdf_backend (RAPPORT_PDF_BACKEND=pymupdf) chooses it where that licence is acceptable.
DEFAULT_BACKEND = "pdfplumber"
_LETTERS = re.compile(r"[A-Za-zÆØÅæøå]")


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class Cell:
    text: str
    x0: float
    x1: float

    @property
    def numeric(self) -> bool:
        text = self.text.strip()
        if text in {"-", "–", "—", "−"}:
            return True
        if _LETTERS.search(text.replace("mill.", "")):
            return False
        tokens = tokenize(text)
        return bool(tokens) and single_value(tokens, 0, len(tokens)) is not None


@dataclass
class Line:
    cells: list[Cell]
    top: float
    height: float
    words: list[Word]
    space: float  # the width of a space on this page
    bottom: float = 0.0  # lowest point (a row's label may wrap onto lines below)

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cells)

    def label_end(self) -> int | None:
        """Index of the first cell with letters (the label; a note number may stand before it)."""
        return next((n for n, c in enumerate(self.cells[:2]) if _LETTERS.search(c.text)), None)

    def values(self) -> list[Cell]:
        """The cells after the label."""
        n = self.label_end()
        return [] if n is None else self.cells[n + 1 :]

    def is_row(self) -> bool:
        """A label followed by at least one number that is not a year (years are a header's)."""
        numbers = [c for c in self.values() if c.numeric]
        return bool(numbers) and not all(is_period(c.text.strip()) for c in numbers)


# ----------------------------------------------------------------------------- words from the PDF


class PdfPasswordError(Exception):
    """The PDF needs a password to be read."""


def words_pymupdf(path: Path) -> list[list[Word]]:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)  # damaged files raise; no stderr noise
    pages = []
    with pymupdf.open(path, filetype="pdf") as doc:
        if doc.needs_pass and not doc.authenticate(""):
            raise PdfPasswordError(str(path))
        for page in doc:
            pages.append([Word(w[4], w[0], w[2], w[1], w[3]) for w in page.get_text("words", sort=True)])
    return pages


def words_pdfplumber(path: Path) -> list[list[Word]]:
    import pdfplumber

    pages = []
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # pdfplumber wraps pdfminer's errors in its own exception
        chain = [exc, exc.__cause__, exc.__context__, *(a for a in exc.args if isinstance(a, BaseException))]
        if any(isinstance(e, PDFPasswordIncorrect) for e in chain):
            raise PdfPasswordError(str(path)) from None
        raise
    with pdf:
        for page in pdf.pages:
            words = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False)
            pages.append([Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"]) for w in words])
    return pages


WORD_SOURCES: dict[str, Callable[[Path], list[list[Word]]]] = {"pymupdf": words_pymupdf,
                                                              "pdfplumber": words_pdfplumber}


# ----------------------------------------------------------------------------- layout


def _lines(words: Sequence[Word]) -> list[Line]:
    """Words on one baseline -> a line of cells; a gap much wider than a space starts a cell."""
    if not words:
        return []
    heights = [w.bottom - w.top for w in words if w.bottom > w.top]
    h = statistics.median(heights) if heights else 10.0
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: ((w.top + w.bottom) / 2, w.x0)):
        mid = (w.top + w.bottom) / 2
        if rows and abs(mid - (rows[-1][0].top + rows[-1][0].bottom) / 2) <= 0.45 * h:
            rows[-1].append(w)
        else:
            rows.append([w])
    gaps = [b.x0 - a.x1 for r in rows for a, b in zip(sorted(r, key=lambda w: w.x0), sorted(r, key=lambda w: w.x0)[1:],
                                                      strict=False) if 0 <= b.x0 - a.x1 < 0.6 * h]
    space = statistics.median(gaps) if gaps else 0.28 * h
    split = max(2.5 * space, 0.6 * h)
    out = []
    for r in rows:
        r.sort(key=lambda w: w.x0)
        cells = [Cell(r[0].text, r[0].x0, r[0].x1)]
        for a, b in zip(r, r[1:], strict=False):
            if b.x0 - a.x1 > split:
                cells.append(Cell(b.text, b.x0, b.x1))
            else:
                cells[-1].text += " " + b.text
                cells[-1].x1 = b.x1
        top = min(w.top for w in r)
        out.append(Line(cells, top, h, r, space, top + h))
    return out


def _regions(lines: list[Line]) -> list[tuple[int, int]]:
    """Runs of table rows (index ranges), allowing single-cell section labels between rows."""
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].is_row():
            i += 1
            continue
        j = i
        last_row = i
        while j + 1 < len(lines):
            nxt = lines[j + 1]
            gap = nxt.top - lines[j].bottom
            if gap > 1.5 * nxt.height:
                break
            if nxt.is_row():
                last_row = j + 1
            elif not (len(nxt.cells) == 1 and len(nxt.text) <= 60 and nxt.cells[0].x0 <= lines[i].cells[0].x0 + 2):
                break
            j += 1
        out.append((i, last_row))
        i = last_row + 1
    return out


def _anchors(rows: list[Line]) -> list[tuple[float, float]]:
    """Columns as (left, right) from the right edges of the numeric cells after each label."""
    edges = sorted((c.x1, c.x0) for r in rows for c in r.values() if c.numeric)
    columns: list[list[tuple[float, float]]] = []
    tol = 0.6 * (rows[0].height if rows else 10)
    for x1, x0 in edges:
        if columns and x1 - columns[-1][-1][0] <= tol:
            columns[-1].append((x1, x0))
        else:
            columns.append([(x1, x0)])
    return [(min(x0 for _, x0 in col), max(x1 for x1, _ in col)) for col in columns]


def _column_of(cell: Cell, anchors: list[tuple[float, float]]) -> int:
    return min(range(len(anchors)), key=lambda k: abs(anchors[k][1] - cell.x1))


def _row_text(line: Line, anchors: list[tuple[float, float]]) -> str:
    n = line.label_end() or 0
    lead = line.cells[: n + 1]  # the label, and a note number printed before it
    fields = [""] * len(anchors)
    tail = []
    for c in line.cells[n + 1 :]:
        if c.numeric:
            k = _column_of(c, anchors)
            fields[k] = (fields[k] + " " + c.text).strip()
        elif c.x0 > anchors[-1][1]:
            tail.append(c.text)  # a comment column right of the numbers
        else:
            return line.text  # text inside the number columns: leave the row to the text reader
    return "\t".join([*(c.text for c in lead), *fields, *([" ".join(tail)] if tail else [])])


def _runs(line: Line) -> list[list[Word]]:
    """Words of a line in runs split at gaps wider than a space and a half (header names sit
    closer together than table cells)."""
    runs: list[list[Word]] = []
    for w in sorted(line.words, key=lambda w: w.x0):
        if runs and w.x0 - runs[-1][-1].x1 <= 1.5 * line.space + 0.5:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def _header_text(lines: list[Line], anchors: list[tuple[float, float]], label_x1: float) -> str:
    """Header lines over a region, merged column by column; text over the labels first. A name
    goes to the column whose right edge it ends at (numbers and their names are right-aligned),
    else to the column its middle is nearest."""
    fields = [""] * (len(anchors) + 1)
    tol = 0.6 * (lines[0].height if lines else 10)
    for line in lines:
        for run in _runs(line):
            x0, x1 = run[0].x0, run[-1].x1
            text = " ".join(w.text for w in run)
            ends = [n for n, (_, right) in enumerate(anchors) if abs(right - x1) <= tol]
            if ends:
                k = 1 + ends[0]
            elif x1 <= label_x1 + tol and x1 < anchors[0][0]:
                k = 0
            else:
                mid = (x0 + x1) / 2
                k = 1 + min(range(len(anchors)), key=lambda n: abs((anchors[n][0] + anchors[n][1]) / 2 - mid))
            fields[k] = (fields[k] + " " + text).strip()
    return "\t".join(fields)


def _header_lines(lines: list[Line], start: int, anchors: list[tuple[float, float]]) -> int:
    """How many lines above line `start` are the region's header (short cells over the columns)."""
    n = 0
    j = start - 1
    while j >= 0 and n < 4:
        line = lines[j]
        below = lines[j + 1]
        if below.top - line.bottom > 1.2 * line.height or line.is_row():
            break
        over_columns = [c for c in line.cells if c.x1 >= anchors[0][0] - 1]
        if not over_columns or any(len(c.text) > 40 for c in line.cells):
            break
        if re.match(r"^\s*(?:Tabell|Table)\s+\d", line.text):
            break
        n += 1
        j -= 1
    return n


def _join_wrapped_labels(lines: list[Line]) -> list[Line]:
    """A row's label wrapped onto the next line ('Kjøp av tjenester som erstatter' / 'egenproduksjon'):
    a lower-case single cell right under a row, at its label's left edge, joins the label."""
    out: list[Line] = []
    for line in lines:
        prev = out[-1] if out else None
        if (
            prev is not None and prev.is_row() and len(line.cells) == 1 and line.cells[0].text[:1].islower()
            and abs(line.cells[0].x0 - prev.cells[prev.label_end() or 0].x0) <= 2
            and line.top - prev.bottom <= line.height
        ):
            label = prev.cells[prev.label_end() or 0]
            label.text += " " + line.cells[0].text
            label.x1 = max(label.x1, line.cells[0].x1)
            prev.bottom = line.bottom
            continue
        out.append(line)
    return out


def _header_columns(anchors: list[tuple[float, float]], header: list[Line], label_x1: float) -> list[tuple[float, float]]:
    """Columns no row has a number in, named by the header: a name whose right edge falls on the
    columns' even spacing, right of every label."""
    if len(anchors) < 2:
        return anchors
    spacing = min(b[1] - a[1] for a, b in zip(anchors, anchors[1:], strict=False))
    tol = 0.6 * header[0].height
    found = list(anchors)
    for line in header:
        for run in _runs(line):
            x0, x1 = run[0].x0, run[-1].x1
            if x0 <= label_x1 + tol or any(abs(right - x1) <= tol for _, right in found):
                continue
            steps = (x1 - anchors[0][1]) / spacing
            if abs(steps - round(steps)) * spacing <= tol:
                found.append((x0, x1))
    return sorted(found, key=lambda a: a[1])


def page_lines(words: Sequence[Word]) -> list[str]:
    """One page's text: table rows and headers tab-separated by column, other lines as words."""
    lines = _join_wrapped_labels(_lines(words))
    out: dict[int, str] = {i: line.text for i, line in enumerate(lines)}
    for start, end in _regions(lines):
        rows = [lines[i] for i in range(start, end + 1) if lines[i].is_row()]
        anchors = _anchors(rows)
        if not anchors:
            continue
        label_x1 = max(r.cells[r.label_end() or 0].x1 for r in rows)
        n = _header_lines(lines, start, anchors)
        if n:
            anchors = _header_columns(anchors, lines[start - n : start], label_x1)
        for i in range(start, end + 1):
            if lines[i].is_row():
                out[i] = _row_text(lines[i], anchors)
        if n:
            out[start - n] = _header_text(lines[start - n : start], anchors, label_x1)
            for i in range(start - n + 1, start):
                del out[i]
    return [out[i] for i in sorted(out)]


def pdf_text(path: Path, backend: str = DEFAULT_BACKEND) -> tuple[str, int]:
    """(text, page count): pages joined with a form feed before each page after the first."""
    pages = WORD_SOURCES[backend](Path(path))
    texts = ["\n".join(page_lines(words)) for words in pages]
    return "\n\f".join(texts), len(pages)

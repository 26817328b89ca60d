"""Synthetic report PDFs (fpdf2) with tables laid out in columns, from the truth in tests/synth.py.

Labels are left-aligned in a label column, numbers right-aligned in value columns, empty cells
print nothing; header names wrap within their column; captions above or below; optional note
column; a running head and a 'Side N' footer on every page. The core font covers Latin-1 only:
a Unicode minus or en dash needs a TrueType font (DejaVu Sans when the system has it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fpdf import FPDF
from synth import PROSE, TTable, fmt

DEJAVU = next((p for p in (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                           Path("/usr/share/fonts/dejavu/DejaVuSans.ttf")) if p.exists()), None)
PAGE_W, PAGE_H, MARGIN = 595.0, 842.0, 50.0
SIZE, LINE = 9.0, 13.0


@dataclass
class PdfLayout:
    caption_pos: str = "above"  # above | below | none
    neg_style: str = "-"
    note_col: str | None = None  # before_values | before_label
    col_w: float = 78.0
    thousands: str = " "  # the thousands separator: a space, a no-break space or a narrow one


def latin1(text: str) -> str:
    return text.replace("\u2013", "-").replace("\u2212", "-").replace("\u202f", " ")


class ReportPdf:
    def __init__(self, head: str = "Årsrapport 2021 | Asker kommune", unicode_font: bool = False,
                 size: float = SIZE) -> None:
        self.pdf = FPDF(unit="pt", format="A4")
        self.pdf.set_auto_page_break(False)
        self.unicode = unicode_font and DEJAVU is not None
        self.family = "dejavu" if self.unicode else "helvetica"
        self.size = size
        if self.unicode:
            self.pdf.add_font("dejavu", fname=str(DEJAVU))
            bold = DEJAVU.with_name("DejaVuSans-Bold.ttf")
            self.pdf.add_font("dejavu", style="B", fname=str(bold if bold.exists() else DEJAVU))
        self.pdf.set_font(self.family, size=size)
        self.head = head
        self.page = 0
        self.y = 0.0
        self.new_page()

    def text(self, s: str) -> str:
        return s if self.unicode else latin1(s)

    def new_page(self) -> None:
        if self.page:
            self.pdf.set_xy(MARGIN, PAGE_H - 40)
            self.pdf.cell(200, LINE, f"Side {self.page}")
        self.pdf.add_page()
        self.page += 1
        if self.head:
            self.pdf.set_xy(MARGIN, 25)
            self.pdf.cell(300, LINE, self.text(self.head))
        self.y = 60.0

    def need(self, height: float) -> None:
        if self.y + height > PAGE_H - 60:
            self.new_page()

    def at(self, x: float, w: float, s: str, align: str = "L") -> None:
        self.pdf.set_xy(x, self.y)
        self.pdf.cell(w, LINE, self.text(s), align=align)

    def line(self, s: str) -> None:
        self.need(LINE)
        self.at(MARGIN, PAGE_W - 2 * MARGIN, s)
        self.y += LINE

    def gap(self) -> None:
        self.y += LINE

    def table(self, t: TTable, layout: PdfLayout) -> None:
        k = len(t.columns)
        note = layout.note_col is not None
        widest = max(self.pdf.get_string_width(self.text(fmt(v, t.decimals[c], t.percent[c], layout.neg_style)))
                     for r in t.rows for c, v in enumerate(r.values) if v is not None)
        col_w = max(layout.col_w, widest + 12)  # a column is wider than its widest number, as in print
        note_w = 28.0 if note else 0.0
        label_w = PAGE_W - 2 * MARGIN - k * col_w - note_w
        label_x = MARGIN + (note_w if layout.note_col == "before_label" else 0.0)
        value_x = MARGIN + label_w + note_w
        note_x = MARGIN if layout.note_col == "before_label" else MARGIN + label_w
        if layout.caption_pos in ("above", "none"):  # a caption, or a statement's heading
            self.line(t.caption)
        # header: bold names wrapped to the column width, bottom-aligned
        self.pdf.set_font(self.family, style="B", size=self.size)
        names = [self._wrap(n, col_w - 6) for n in t.columns]
        depth = max(len(n) for n in names)
        self.need(LINE * (depth + 3))
        lead = t.unit if t.unit and t.unit_where == "header" else ""
        for d in range(depth):
            if d == depth - 1:
                if lead:
                    self.at(label_x, label_w, lead)
                if note:
                    self.at(note_x, note_w, "Note", "R")
            for c, parts in enumerate(names):
                offset = depth - len(parts)
                if d >= offset:
                    self.at(value_x + c * col_w, col_w, parts[d - offset], "R")
            self.y += LINE
        self.pdf.set_font(self.family, size=self.size)
        for r in t.rows:
            label = self._wrap(r.label, label_w - 8)  # a long label wraps; numbers on its first line
            self.need(LINE * len(label))
            self.at(label_x, label_w, label[0])
            if note and r.note:
                self.at(note_x, note_w - 4 if layout.note_col == "before_label" else note_w, r.note,
                        "L" if layout.note_col == "before_label" else "R")
            for c, v in enumerate(r.values):
                if v is not None:
                    self.at(value_x + c * col_w, col_w, fmt(v, t.decimals[c], t.percent[c], layout.neg_style).replace(" ", layout.thousands), "R")
            self.y += LINE
            for part in label[1:]:
                self.at(label_x, label_w, part)
                self.y += LINE
        if layout.caption_pos == "below":
            self.gap()
            self.line(t.caption)

    def _wrap(self, name: str, width: float) -> list[str]:
        words = name.split()
        parts = [words[0]]
        for w in words[1:]:
            if self.pdf.get_string_width(self.text(parts[-1] + " " + w)) <= width:
                parts[-1] += " " + w
            else:
                parts.append(w)
        return parts

    def save(self, path: Path) -> Path:
        self.pdf.set_xy(MARGIN, PAGE_H - 40)
        self.pdf.cell(200, LINE, f"Side {self.page}")
        self.pdf.output(str(path))
        return path


def report_pdf(path: Path, parts: list[tuple[TTable, PdfLayout]], *, unicode_font: bool = False,
               prose: int = 2, size: float = SIZE) -> tuple[Path, list[TTable]]:
    """A PDF with prose and the tables; returns the path and the truth as printed (a caption's
    en dash becomes '-' in the core font)."""
    doc = ReportPdf(unicode_font=unicode_font, size=size)
    doc.line("Årsrapport 2021")
    doc.gap()
    truths = []
    for n, (t, layout) in enumerate(parts):
        for p in range(prose):
            doc.line(PROSE[(n + p) % len(PROSE)])
        doc.gap()
        doc.table(t, layout)
        doc.gap()
        truths.append(t if doc.unicode else replace(t, title=latin1(t.title)))
    doc.line(PROSE[0])
    return doc.save(path), truths

"""Synthetic Norwegian municipal report text with known tables: the truth parsed cells are checked against.

A TTable holds the values a table was generated from (with its arithmetic: Avvik = Regnskap -
Budsjett, sum rows add up, Avvik i % = Avvik / Budsjett); `render_table` prints it in one of the
layouts seen in real reports (captions above or below, dotted numbers, title captions, units in
the caption, header or a line of their own, negatives with a space after the sign or with U+2212
/ en dash, one cell per line, tab-separated cells, note-number columns, running page headers and
footers). `compare` checks a parsed Table against its truth, cell by cell.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from ingest.numbers import format_no_number
from ingest.records import Table

INCOME = ["Rammetilskudd", "Inntekts- og formuesskatt", "Eiendomsskatt", "Andre generelle driftsinntekter",
          "Brukerbetalinger", "Salgs- og leieinntekter", "Refusjoner", "Overføringer med krav til motytelse"]
COSTS = ["Lønnsutgifter", "Sosiale utgifter", "Kjøp av varer og tjenester", "Overføringer og tilskudd til andre",
         "Avskrivninger", "Kjøp av tjenester som erstatter egenproduksjon"]
FINANCE = ["Renteinntekter", "Utbytter", "Gevinster og tap på finansielle omløpsmidler", "Renteutgifter",
           "Avdrag på lån"]
KEY_FIGURES = [("Likviditetsgrad 1", 2), ("Likviditetsgrad 2", 2), ("Netto driftsresultat i prosent", 1),
               ("Gjeldsgrad", 2), ("Disposisjonsfond i prosent av driftsinntekter", 1), ("Arbeidskapital", 0)]
SECTORS = ["Barnehage", "Grunnskole", "Pleie og omsorg", "Helse og sosial", "Kultur og idrett", "Teknisk drift",
           "Administrasjon", "Samferdsel", "Vann og avløp", "Brann og redning"]
PROSE = [
    "Netto driftsresultat ble bedre enn budsjettert, hovedsakelig som følge av høyere skatteinngang.",
    "Kommunen har i løpet av året arbeidet videre med omstilling og digitalisering av tjenestene.",
    "Sykefraværet gikk ned fra 7,9 prosent til 7,1 prosent, og arbeidet med nærvær fortsetter.",
    "Investeringene ble lavere enn planlagt fordi flere prosjekter ble forsinket.",
    "Det vises til årsregnskapet for detaljerte oversikter og noter.",
]
NEG_STYLES = ["-", "- ", "\u2212", "\u2212 ", "\u2013", "\u2013 "]


@dataclass
class TRow:
    label: str
    values: list[float | None]  # None: an empty cell
    note: str | None = None


@dataclass
class TTable:
    number: str | None
    title: str  # the caption text after the number, or the heading of an uncaptioned statement
    unit: str | None
    columns: list[str]
    decimals: list[int]
    percent: list[bool]
    rows: list[TRow]
    kind: str
    caption_style: str = "viser"  # viser | title | colon
    unit_where: str = "caption"  # caption | header | line | none

    @property
    def caption(self) -> str:
        """The caption the parser should report."""
        if self.number is None:  # a statement's heading
            return self.title[:1].upper() + self.title[1:]
        if self.caption_style == "viser":
            text = f"Tabell {self.number} viser {self.title}"
        elif self.caption_style == "colon":
            text = f"Tabell {self.number}: {self.title[:1].upper()}{self.title[1:]}"
        else:
            text = f"Tabell {self.number} {self.title[:1].upper()}{self.title[1:]}"
        if self.unit_where == "caption" and self.unit:
            text += f". {self.unit}."
        return text


@dataclass
class Layout:
    caption_pos: str = "above"  # above | below | none (a statement heading instead)
    neg_style: str = "-"
    one_per_line: bool = False
    tabbed: bool = False
    note_col: str | None = None  # before_label | before_values
    header_one_per_line: bool = False


# ----------------------------------------------------------------------------- tables


def _amount(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


def statement_table(rng: random.Random, number: str | None, *, with_pct: bool = False, year: int = 2021,
                    n_rows: int = 6, unit: str | None = "Beløp i 1 000 kr", big: bool = True) -> TTable:
    """Regnskap / Budsjett / Avvik (= Regnskap - Budsjett) [/ Avvik i %], rows then a sum row."""
    columns = [f"Regnskap {year}", f"Budsjett {year}", "Avvik"] + (["Avvik i %"] if with_pct else [])
    decimals = [0, 0, 0] + ([1] if with_pct else [])
    percent = [False, False, False] + ([True] if with_pct else [])
    labels = rng.sample(INCOME + COSTS, n_rows)
    rows: list[TRow] = []
    totals = [0.0, 0.0]
    lo, hi = (10_000, 9_000_000) if big else (100, 99_999)
    for n, label in enumerate(labels):
        b = float(_amount(rng, lo, hi)) * (-1 if label in INCOME else 1)
        if n == len(labels) - 1 and totals[1] + b == 0:
            b += 1  # a budget total of 0 has no deviation in percent
        # a deviation is never 0: a row of zeros says nothing about where numbers end
        r = b + float(rng.randint(1, max(1, abs(int(b)) // 5)) * rng.choice((-1, 1)))
        totals[0] += r
        totals[1] += b
        rows.append(TRow(label, _with_avvik(r, b, with_pct)))
    rows.append(TRow("Sum driftsresultat", _with_avvik(totals[0], totals[1], with_pct)))
    title = f"økonomisk oversikt drift {year}"
    return TTable(number, title, unit, columns, decimals, percent, rows, "statement")


def _with_avvik(r: float, b: float, with_pct: bool) -> list[float | None]:
    vals: list[float | None] = [r, b, r - b]
    if with_pct:
        vals.append(round((r - b) / abs(b) * 100, 1) if b else None)
    return vals


def series_table(rng: random.Random, number: str | None, years: tuple[int, ...] = (2018, 2019, 2020, 2021),
                 unit: str | None = "Mill. kr", n_rows: int = 5, empties: bool = False) -> TTable:
    """Figures per year with one decimal; a few negatives, maybe empty cells."""
    columns = [str(y) for y in years]
    labels = rng.sample(SECTORS, n_rows)
    rows = []
    for label in labels:
        vals: list[float | None] = []
        for _ in years:
            v = round(rng.uniform(-2500, 25000), 1)
            vals.append(v)
        if empties and rng.random() < 0.4:
            vals[rng.randrange(len(vals))] = None
        rows.append(TRow(label, vals))
    return TTable(number, f"netto driftsutgifter per sektor {years[0]}–{years[-1]}", unit, columns, [1] * len(years),
                  [False] * len(years), rows, "series")


def key_figures_table(rng: random.Random, number: str | None, year: int = 2021) -> TTable:
    """Labels that end in a digit ('Likviditetsgrad 1'), decimals, percentages."""
    columns = [f"Regnskap {year - 1}", f"Regnskap {year}"]
    rows = []
    for label, dec in KEY_FIGURES:
        if dec == 0:
            vals = [float(rng.randint(100_000, 900_000)) for _ in columns]
        else:
            vals = [round(rng.uniform(0.5, 9.9), dec) for _ in columns]
        rows.append(TRow(label, vals))
    return TTable(number, "finansielle nøkkeltall", None, columns, [2, 2], [False, False], rows, "keyfigures")


def budget_use_table(rng: random.Random, number: str | None, year: int = 2021) -> TTable:
    """A deviation and a percent of budget side by side: Budsjett, Regnskap, Avvik, Forbruk i %."""
    columns = [f"Budsjett {year}", f"Regnskap {year}", "Avvik", "Forbruk i %"]
    rows = []
    for label in rng.sample(SECTORS, 5):
        b = float(rng.randint(20_000, 900_000))
        r = b + float(rng.randint(1, int(b) // 8) * rng.choice((-1, 1)))  # never exactly on budget
        rows.append(TRow(label, [b, r, b - r, round(r / b * 100, 1)]))
    return TTable(number, f"forbruk mot budsjett per tjenesteområde {year}", "Tall i hele tusen", columns,
                  [0, 0, 0, 1], [False, False, False, True], rows, "budgetuse")


# ----------------------------------------------------------------------------- rendering


def fmt(value: float, decimals: int, percent: bool, neg_style: str = "-") -> str:
    text = format_no_number(value, decimals)
    if text.startswith("-"):
        text = neg_style + text[1:]
    return text + (" %" if percent else "")


def _cells(t: TTable, row: TRow, layout: Layout) -> list[str]:
    return ["" if v is None else fmt(v, t.decimals[c], t.percent[c], layout.neg_style) for c, v in enumerate(row.values)]


def caption_line(t: TTable) -> str:
    return t.caption


def header_lines(t: TTable, layout: Layout) -> list[str]:
    lead = t.unit if (t.unit_where == "header" and t.unit) else ""
    note = ["Note"] if layout.note_col else []
    names = [*note, *t.columns]  # a note column's header stands left of the value columns
    if layout.tabbed:
        if layout.note_col == "before_label":
            return ["\t".join(["Note", lead, *t.columns])]
        return ["\t".join([lead, *names])]
    if layout.header_one_per_line or layout.one_per_line:
        return [x for x in [lead, *names] if x]
    return [" ".join(x for x in [lead, *names] if x)]


def row_lines(t: TTable, row: TRow, layout: Layout) -> list[str]:
    cells = _cells(t, row, layout)
    label = row.label
    if layout.note_col == "before_label" and row.note:
        label = f"{row.note}. {label}"
    if layout.note_col == "before_values":
        cells = [row.note or "", *cells]
    if layout.tabbed:
        if layout.note_col == "before_label":  # the note stands in a column of its own
            return ["\t".join([row.note or "", row.label, *cells])]
        return ["\t".join([label, *cells])]
    if layout.one_per_line:
        return [label, *(c for c in cells if c)]
    out = label
    for c in cells:
        out += " " + c if c else " "  # an empty cell prints as one more space
    return [out]


def render_table(t: TTable, layout: Layout) -> list[str]:
    head = [caption_line(t)] if layout.caption_pos == "above" else []
    if layout.caption_pos == "none":
        head = [t.caption]
    if t.unit_where == "line" and t.unit:
        head.append(t.unit)
    body = header_lines(t, layout)
    for row in t.rows:
        body.extend(row_lines(t, row, layout))
    tail = ["", caption_line(t)] if layout.caption_pos == "below" else []
    return [*head, *body, *tail]


def with_notes(t: TTable, rng: random.Random) -> TTable:
    rows = [replace(r, note=str(rng.randint(2, 24)) if rng.random() < 0.6 else None) for r in t.rows]
    return replace(t, rows=rows)


@dataclass
class Document:
    lines: list[str] = field(default_factory=list)
    tables: list[TTable] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def document(rng: random.Random, parts: list[tuple[TTable, Layout]], title: str = "Årsrapport 2021",
             municipality: str = "Asker kommune") -> Document:
    """Prose, then each table with a paragraph before and after it."""
    doc = Document()
    doc.lines += [title, municipality, "", rng.choice(PROSE), ""]
    for t, layout in parts:
        doc.lines += [rng.choice(PROSE), f"{municipality} la fram regnskapet i april.", ""]
        doc.lines += render_table(t, layout)
        doc.lines += ["", rng.choice(PROSE), ""]
        doc.tables.append(t)
    return doc


def with_running_heads(lines: list[str], every: int, header: str, footer: str = "Side {n}",
                       form_feed: bool = False) -> tuple[list[str], list[int]]:
    """Insert a footer ('Side 3') and the next page's running head every `every` lines; return
    the lines and the 1-based first line of each page."""
    out: list[str] = []
    starts = [1]
    page = 1
    for i, line in enumerate(lines):
        if i and i % every == 0:
            out.append(footer.format(n=page))
            page += 1
            out.append(("\f" if form_feed else "") + header)
            starts.append(len(out))
        out.append(line)
    return out, starts


# ----------------------------------------------------------------------------- checking


def compare(parsed: Table, truth: TTable) -> list[str]:
    """Differences between a parsed table and its truth; rows marked uncertain are excused from
    value checks but must say why, and no label may hold a number that belongs to a cell."""
    problems: list[str] = []
    if list(parsed.columns) != truth.columns:
        problems.append(f"columns {parsed.columns} != {truth.columns}")
    if parsed.unit != truth.unit:
        problems.append(f"unit {parsed.unit!r} != {truth.unit!r}")
    labels = [r.label for r in parsed.rows]
    want = [r.label for r in truth.rows]
    if labels != want:
        problems.append(f"labels {labels} != {want}")
        return problems
    for row, trow in zip(parsed.rows, truth.rows, strict=True):
        if row.uncertain:
            if not row.reason:
                problems.append(f"{row.label}: uncertain without a reason")
            continue
        got = [c.value for c in row.cells]
        if got != trow.values:
            problems.append(f"{row.label}: {[c.raw for c in row.cells]} != {trow.values}")
        if row.note != trow.note:
            problems.append(f"{row.label}: note {row.note!r} != {trow.note!r}")
    return problems

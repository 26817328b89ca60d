"""Table recovery from the plain-text layout of the report.

Finds captioned tables ('Tabell N viser ...', but not a sentence 'Tabell N viser at ...'),
their header, rows and footnotes (ingest/captions.py, ingest/blocks.py), and uncaptioned blocks
printed right under a table. Values are read with ingest/readrows.py; this module assembles the
Table records: column names, footnotes, markers, units.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable

from ingest.blocks import Block, RowDraft, scan_block, uncaptioned_header
from ingest.captions import block_start_above, find_captions
from ingest.headers import Header, named_columns, parse_header
from ingest.layouts import layout_rows
from ingest.linekinds import FOOTNOTE_RE, is_year_token, next_nonblank
from ingest.notes import prepare_notes, settle_notes, strip_note_header
from ingest.readrows import read_rows
from ingest.records import Cell, Chapter, Footnote, Row, Table
from ingest.rowparse import Value
from ingest.statements import find_statements
from ingest.text import SUPERSCRIPTS, clean_text, strip_superscripts
from ingest.units import is_unit_line

# ----------------------------------------------------------------------------- assembly


def _footnote_records(groups: list[list[tuple[int, str]]]) -> list[Footnote]:
    notes = []
    for group in groups:
        first_idx, first = group[0]
        m = FOOTNOTE_RE.match(clean_text(first))
        marker = m.group(1) if m else "?"
        marker = strip_superscripts(marker)[1][0] if marker in SUPERSCRIPTS else marker
        body = " ".join(clean_text(t).strip() for _, t in group)
        body = FOOTNOTE_RE.match(body).group(2) if FOOTNOTE_RE.match(body) else body
        body = re.sub(rf"^{marker}(?=[A-ZÆØÅ])", "", body.strip())  # '1 1Inkludert' printed twice
        notes.append(Footnote(marker, re.sub(r"\s+", " ", body).strip(), (first_idx + 1, group[-1][0] + 1)))
    return notes


def _clean_label(label: str, markers: set[str]) -> tuple[str, list[str]]:
    text, found = strip_superscripts(clean_text(label))
    words = text.split()
    if words:
        m = re.match(r"^(.*[A-Za-zÆØÅæøå)])(\d)$", words[-1])
        if m and m.group(2) in markers and len(re.sub(r"[^A-Za-zÆØÅæøå]", "", m.group(1))) >= 3:
            words[-1] = m.group(1)
            found.append(m.group(2))
    text = " ".join(words).strip()
    return text, found


def _fix_orphan_markers(rows: list[RowDraft], orphans: set[str]) -> None:
    """A footnote no label or header refers to may be glued to a number: '4222' is '422' + '2'."""
    for marker in sorted(orphans):
        for r in rows:
            present = [v for v in r.values if v is not None]
            for c, v in enumerate(r.values):
                if v is None or v.decimals or " " in v.raw or not v.raw.lstrip("-").endswith(marker):
                    continue
                digits = v.raw.lstrip("-")
                if len(digits) < 2:
                    continue
                stripped = float(digits[:-1]) * (-1 if v.value < 0 else 1)
                others = [abs(o.value) for o in present if o is not v and o.value]
                if len(others) < 2 or stripped == 0:
                    continue
                med = statistics.median(others)
                if abs(v.value) / med > 4 and 0.4 < abs(stripped) / med < 2.5:
                    r.values[c] = Value(
                        v.raw[:-1], stripped, 0, (*v.markers, marker), v.first, v.last, v.percent
                    )
                    r.reason = f"footnote marker {marker} was glued to the number {v.raw}"


def _to_table(block: Block, lines: list[str], chapter: Chapter) -> Table | None:
    block.header_lines, note_header = strip_note_header(block.header_lines)
    header_tokens = " ".join(clean_text(raw) for _, raw in block.header_lines).split()
    header_periods = sum(1 for t in header_tokens if is_year_token(t) and not re.search("[–-]", t))
    header_text = [raw for _, raw in block.header_lines if raw.strip() and not is_unit_line(clean_text(raw).strip())]
    named = named_columns(header_text, any(r.fixed is not None and not r.explicit for r in block.rows))
    prepare_notes(block.rows, note_header, named)
    k = read_rows(block.rows, lines, header_periods, named, named if note_header else None)
    if k == 0 or not block.rows:
        return None
    settle_notes(block.rows)
    footnotes = _footnote_records(block.footnotes)
    markers = {f.marker for f in footnotes}
    fragments: list[list[str]] = [[]]
    for _idx, raw in block.header_lines:
        if raw.strip():
            fragments[-1].append(raw)
        elif fragments[-1]:
            fragments.append([])
    # all-caps lines right above the first row are a section label, not a column header
    first_section = None
    while fragments and fragments[-1] and len(fragments[-1]) == 1:
        t = clean_text(fragments[-1][0]).strip()
        if t.isupper() and len(t.split()) <= 4 and not any(ch.isdigit() for ch in t):
            first_section = t
            fragments.pop()
        else:
            break
    for r in block.rows:
        if r.text_tail.startswith("(") and r.text_tail.endswith(")"):
            last = max((i for i, v in enumerate(r.values) if v is not None), default=None)
            if last is not None:
                v = r.values[last]
                r.values[last] = Value(v.raw + " " + r.text_tail, v.value, v.decimals, v.markers, v.first, v.last, v.percent)
                r.text_tail = ""
    text_rows = [r for r in block.rows if r.text_tail]
    has_text = bool(text_rows)
    # a comment column after the numbers; when rows with a comment have one number fewer,
    # the comment fills the last column instead of adding one
    tail_in_last = has_text and all(
        sum(v is not None for v in r.values) <= k - 1 for r in text_rows
    ) and k >= 3
    n_cols = k if tail_in_last else k + (1 if has_text else 0)
    header: Header = parse_header([f for f in fragments if f], n_cols, markers)
    columns = list(header.columns)
    referenced: set[str] = {m for ms in header.column_markers for m in ms}
    out_rows: list[Row] = []
    for r in block.rows:
        label, found = _clean_label(r.label, markers)
        r.label_markers = found
        referenced.update(found)
        for v in r.values:
            if v is not None:
                referenced.update(v.markers)
    _fix_orphan_markers(block.rows, markers - referenced)
    for r in block.rows:
        label, _ = _clean_label(r.label, markers)
        label = label.lstrip("–- ").strip() or label
        cells = []
        row_markers = list(r.label_markers)
        for c, v in enumerate(r.values):
            name = columns[c] if c < len(columns) else f"Kolonne {c + 1}"
            if v is None:
                cells.append(Cell(name, "", None))
            else:
                cells.append(Cell(name, v.raw, v.value))
                row_markers.extend(v.markers)
        if tail_in_last and r.text_tail:
            present = [c for c in cells if c.raw]
            cells = [*present[: k - 1]] + [Cell(c.column, "", None) for c in cells[len(present[: k - 1]) : k - 1]]
            cells = [Cell(columns[i], c.raw, c.value) for i, c in enumerate(cells)]
            cells.append(Cell(columns[k - 1], r.text_tail, None))
        elif has_text and not tail_in_last:
            cells.append(Cell(columns[-1], r.text_tail, None))
        first_line = r.span_first if r.span_first is not None else r.line_idx
        source = "\n".join(lines[first_line : r.last_idx + 1])
        section = r.section if r.section is not None else first_section
        section = _clean_label(section, markers)[0] if section else None
        uncertain, reason = r.uncertain, r.reason
        if not header.confident:  # which number is which column cannot be trusted either
            uncertain = True
            reason = "; ".join(x for x in (reason, "kolonnenavnene kunne ikke leses sikkert") if x)
        out_rows.append(
            Row(label, tuple(cells), (first_line + 1, r.last_idx + 1), source, uncertain, reason, section,
                tuple(dict.fromkeys(row_markers)), r.note)
        )
    first = (block.caption_idx if block.caption_idx is not None else block.header_lines[0][0]) + 1
    last = block.end_idx + 1
    if block.span is not None:
        first, last = block.span[0] + 1, max(last, block.span[1] + 1)
    unit = header.unit or block.caption_unit
    if unit is None:
        m = re.search(r"\((mill\. kr|mill\. (?:19|20)\d{2}-kr|kr|prosent|antall)\)", block.caption)
        unit = m.group(1) if m else None
    return Table(
        number=block.number,
        caption=block.caption,
        unit=unit,
        columns=tuple(columns),
        rows=tuple(out_rows),
        lines=(first, last),
        chapter=chapter,
        footnotes=tuple(footnotes),
        label_header=header.label_header,
        group_header=header.group_header,
        attached_to=block.attached_to,
    )


def parse_tables(lines: list[str], chapter_of_line: Callable[[int], Chapter]) -> list[Table]:
    """All tables in the report: captioned ones (caption above or below the table) and
    uncaptioned blocks printed right under a captioned one."""
    captions = find_captions(lines)
    layout = layout_rows(lines)
    # a caption printed under its table closes it; its table starts above
    starts: dict[int, int] = {}
    floor = -1
    for cap in captions:
        if cap.below:
            starts[cap.idx] = block_start_above(lines, cap, floor)
        floor = cap.last_idx
    stops = {c.idx for c in captions} | set(starts.values())
    tables: list[Table] = []
    for cap in captions:
        if cap.below:
            start = starts[cap.idx]
            block = scan_block(lines, start, None, cap.number, cap.text, stops - {start} | {cap.idx}, layout)
            block.caption_unit, block.span = cap.unit, (start, cap.last_idx)
        else:
            block = scan_block(lines, cap.last_idx + 1, cap.idx, cap.number, cap.text, stops - {cap.idx}, layout)
            block.caption_unit = cap.unit
        table = _to_table(block, lines, chapter_of_line(cap.idx + 1))
        if table is None:
            continue
        tables.append(table)
        if cap.below:
            continue
        # uncaptioned blocks that follow right after (another header line with periods)
        nxt = next_nonblank(lines, block.end_idx + 1)
        guard = 0
        while nxt is not None and nxt not in stops and guard < 3 and uncaptioned_header(lines, nxt):
            guard += 1
            sub = scan_block(lines, nxt, None, None, "", stops, layout)
            sub.attached_to = cap.number
            sub.caption = f"{cap.text} (fortsatt: {clean_text(lines[nxt]).strip()})"
            sub_table = _to_table(sub, lines, chapter_of_line(nxt + 1))
            if sub_table is None:
                break
            tables.append(sub_table)
            nxt = next_nonblank(lines, sub.end_idx + 1)
    # uncaptioned statements ('Økonomisk oversikt drift' over a header and rows)
    taken = {i for t in tables for i in range(t.lines[0] - 1, t.lines[1])}
    for head in find_statements(lines, layout, taken):
        if head in taken:
            continue
        caption = " ".join(clean_text(lines[head]).split())
        block = scan_block(lines, head + 1, None, None, caption, stops | taken, layout)
        block.span = (head, block.end_idx)
        table = _to_table(block, lines, chapter_of_line(head + 1))
        if table is not None:
            tables.append(table)
            taken.update(range(head, block.end_idx + 1))
    tables.sort(key=lambda t: t.lines)
    return tables

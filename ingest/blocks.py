"""Table regions: from a caption (or a header) down, collect header lines, rows and footnotes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.headers import named_columns
from ingest.layouts import LayoutRow
from ingest.linekinds import (
    FIGURE_RE,
    is_footnote_line,
    is_label_only,
    is_year_token,
    label_of,
    match_caption,
    next_nonblank,
    row_run,
)
from ingest.rowparse import Token, Value, readings, tokenize
from ingest.text import clean_text
from ingest.units import find_unit


@dataclass
class RowDraft:
    label: str
    line_idx: int  # 0-based
    last_idx: int
    tokens: list[Token]
    run: tuple[int, int]
    text_tail: str = ""
    section: str | None = None
    values: list[Value | None] = field(default_factory=list)
    uncertain: bool = False
    reason: str | None = None
    label_markers: list[str] = field(default_factory=list)
    span_first: int | None = None  # first line of a label printed above the numbers
    label_digits: int = 0  # leading tokens of the run that belong to the label ('Likviditetsgrad 1')
    fixed: tuple[Value | None, ...] | None = None  # cells fixed by the layout (one per line, tabs)
    explicit: bool = False  # the fixed cells' places are known too (tabs, dashes)
    text: str | None = None  # the row as one line when it spans several (one cell per line)
    note: str | None = None  # the row's note number ('14')
    note_maybe: bool = False  # the run's first number may be a note (under a 'Note' header)


@dataclass
class Block:
    caption_idx: int | None
    number: str | None
    caption: str
    header_lines: list[tuple[int, str]]
    rows: list[RowDraft]
    footnotes: list[list[tuple[int, str]]]
    end_idx: int
    attached_to: str | None = None
    caption_unit: str | None = None  # a unit the caption states
    span: tuple[int, int] | None = None  # 0-based first/last line when not caption..end (caption below)



# ----------------------------------------------------------------------------- regions


def _section_above_first_row(header: list[tuple[int, str]], i: int, counts: set[int]) -> bool:
    """The header's last line, right above the first row (line i), is a section label: after a
    blank line, or under a one-line header that shows periods or a unit and names as many
    columns as the row has values ('Beløp i 1 000 kr Regnskap 2021 Regnskap 2020' / 'Driftsinntekter')."""
    if not header:
        return False
    last_idx, last_raw = header[-1]
    text = clean_text(last_raw).strip()
    if not text or last_idx != i - 1 or len(header) < 2 or not text[:1].isupper():
        return False
    if any(is_year_token(t.text) for t in tokenize(last_raw)):
        return False
    above_idx, above = header[-2]
    if not above.strip():
        return any(h[1].strip() for h in header[:-2])
    shows = any(is_year_token(t.text) for t in tokenize(above)) or find_unit(clean_text(above)) is not None
    named = named_columns([above])
    return above_idx == last_idx - 1 and shows and named is not None and named >= 2 and named in counts


def scan_block(lines: list[str], start: int, caption_idx: int | None, number: str | None, caption: str,
                stop_at: set[int], layout: dict[int, LayoutRow] | None = None) -> Block:
    """Collect header lines, rows and footnotes from `start` until the table ends. `layout`
    holds rows whose cells the layout fixes (one cell per line, tab-separated), by first line."""
    layout = layout or {}
    header: list[tuple[int, str]] = []
    rows: list[RowDraft] = []
    footnotes: list[list[tuple[int, str]]] = []
    section: str | None = None
    pending_label: list[str] = []
    pending_first: int | None = None
    i = start
    end = start
    blanks = 0
    in_footnotes = False
    has_text_column = False
    while i < len(lines):
        if i in stop_at:
            break
        raw = lines[i]
        text = clean_text(raw).strip()
        if not text:
            blanks += 1
            if blanks > 3 and rows:
                break
            if not rows:
                header.append((i, raw))
            i += 1
            continue
        blanks_before = blanks
        blanks = 0
        if match_caption(clean_text(raw)) or FIGURE_RE.match(clean_text(raw)):
            break
        if i in layout and not in_footnotes:
            lr = layout[i]
            if not rows and _section_above_first_row(header, i, {len(lr.values)}):
                section = clean_text(header.pop()[1]).strip().rstrip(" :")
            label = label_of(list(lr.tokens), lr.run[0])
            span_first = None
            if pending_label:
                label = " ".join([*pending_label, label]).strip()
                span_first, pending_label, pending_first = pending_first, [], None
            if lr.tail:
                has_text_column = True
            rows.append(RowDraft(label, i, lr.last_idx, list(lr.tokens), lr.run, lr.tail, section, span_first=span_first,
                                 fixed=lr.values, explicit=lr.explicit, text=lr.text))
            end = lr.last_idx
            i = lr.last_idx + 1
            continue
        parsed = row_run(raw)
        if not rows:
            # header zone
            if parsed is not None and (label_of(parsed[0], parsed[1][0]) or pending_label):
                pass  # first data row: fall through
            elif len(header) > 80:
                break
            else:
                header.append((i, raw))
                i += 1
                continue
        if in_footnotes:
            if is_footnote_line(raw):
                footnotes.append([(i, raw)])
                end = i
                i += 1
                continue
            unfinished = not clean_text(footnotes[-1][-1][1]).rstrip().endswith((".", ")", "!", "?"))
            continues = (text[:1].islower() or text[:1] in "§(") and (unfinished or blanks_before == 0)
            if continues or (blanks_before == 0 and parsed is None and len(text) > 30) or (
                unfinished and parsed is None and not is_label_only(raw)
            ):
                footnotes[-1].append((i, raw))
                end = i
                i += 1
                continue
            break
        if not rows and header and parsed is not None:
            counts = {len(x) for x in readings(parsed[0], *parsed[1])}
            if _section_above_first_row(header, i, counts):
                section = clean_text(header.pop()[1]).strip().rstrip(" :")
        if parsed is not None and not (parsed[2] and not has_text_column and rows and not label_of(parsed[0], parsed[1][0])):
            tokens, run, tail = parsed
            label = label_of(tokens, run[0])
            if not label and (not pending_label or not (tail or has_text_column)):
                break
            if label and label[:1].islower() and not label.startswith(("–", "-")):
                break  # a prose line that happens to end in a number
            span_first = None
            if pending_label:
                label = " ".join([*pending_label, label]).strip()
                span_first = pending_first
                pending_label, pending_first = [], None
            if tail and not (tail.startswith("(") and tail.endswith(")")):
                has_text_column = True
            rows.append(RowDraft(label, i, i, tokens, run, tail, section, span_first=span_first))
            end = i
            i += 1
            continue
        if rows and is_footnote_line(raw):
            in_footnotes = True
            footnotes.append([(i, raw)])
            end = i
            i += 1
            continue
        if pending_label and text[:1].islower():
            pending_label.append(text)  # a label wrapped over several lines above its numbers
            i += 1
            continue
        if has_text_column and rows and rows[-1].text_tail and len(text) <= 60 and (text[:1].islower() or text[:1] == "("):
            rows[-1].text_tail = (rows[-1].text_tail + " " + text).strip()
            rows[-1].last_idx = i
            end = i
            i += 1
            continue
        if is_label_only(raw):
            j = next_nonblank(lines, i + 1)
            if j is not None and j not in stop_at:
                nxt = row_run(lines[j])
                if j in layout or (nxt is not None and label_of(nxt[0], nxt[1][0])):
                    section = text.rstrip(" :")
                    i += 1
                    continue
                if nxt is not None or (is_label_only(lines[j]) and has_text_column):
                    if not pending_label:
                        pending_first = i
                    pending_label.append(text)
                    i += 1
                    continue
        break
    return Block(caption_idx, number, caption, header, rows, footnotes, end)


def uncaptioned_header(lines: list[str], i: int) -> bool:
    """A header ('... 2018 2019 2020', or a name line over a line of periods) with rows below."""
    tokens = tokenize(lines[i])
    if not tokens or row_run(lines[i]) is not None:
        return False
    periods = 0
    for t in reversed(tokens):
        if is_year_token(t.text):
            periods += 1
        else:
            break
    j = next_nonblank(lines, i + 1)
    if periods < 2:
        if j is None or j != i + 1:
            return False
        nxt = tokenize(lines[j])
        if len(nxt) < 2 or not all(is_year_token(t.text) for t in nxt):
            return False
        j = next_nonblank(lines, j + 1)
    elif periods == len(tokens):
        return False
    count = 0
    while j is not None and count < 2:
        if row_run(lines[j], False) is None:
            break
        count += 1
        j = next_nonblank(lines, j + 1)
    return count >= 2

"""Table recovery from the plain-text layout of the report.

Finds captioned tables ('Tabell N viser ...', but not a sentence 'Tabell N viser at ...'),
their header, rows and footnotes, and uncaptioned blocks printed right under a table. Values are
read with ingest/rowparse.py; where a line has several readings, the column count, the column
formats and the table's own arithmetic (difference and sum columns learned from the rows that
have only one reading) choose. A row that stays ambiguous is marked uncertain.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from ingest.headers import Header, is_period, parse_header
from ingest.records import Cell, Chapter, Footnote, Row, Table
from ingest.rowparse import Token, Value, numeric_runs, readings, tokenize, trailing_spaces
from ingest.text import SUPERSCRIPTS, clean_text, strip_superscripts

CAPTION_RE = re.compile(r"^\s*(?:Tabell|Table)\s+(\d{1,3})\s*(?:viser|shows|:|–|-)\s*(?!at\b|that\b)(.*\S)?\s*$")
FIGURE_RE = re.compile(r"^\s*(?:Figur|Figure)\s+\d+\s")
FOOTNOTE_RE = re.compile(rf"^\s*([{SUPERSCRIPTS}]|\d{{1,2}})\s{{1,3}}(?:\d(?=[A-ZÆØÅ]))?(?=\S)(\D.*)$")
IDENTITY_TOLERANCE = 0.15


@dataclass
class _RowDraft:
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


@dataclass
class _Block:
    caption_idx: int | None
    number: str | None
    caption: str
    header_lines: list[tuple[int, str]]
    rows: list[_RowDraft]
    footnotes: list[list[tuple[int, str]]]
    end_idx: int
    attached_to: str | None = None


# ----------------------------------------------------------------------------- line kinds


def find_captions(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line index, table number, caption) for every caption line (not a prose 'viser at')."""
    found = []
    for i, line in enumerate(lines):
        m = CAPTION_RE.match(clean_text(line))
        if m and m.group(2) and _has_rows_below(lines, i):
            found.append((i, m.group(1), f"Tabell {m.group(1)} viser {m.group(2).strip()}"))
    return found


def _has_rows_below(lines: list[str], i: int, window: int = 70) -> bool:
    count = 0
    for line in lines[i + 1 : i + 1 + window]:
        if CAPTION_RE.match(clean_text(line)):
            break
        if _row_run(line) is not None:
            count += 1
    return count >= 1


def _is_year_token(tok: str) -> bool:
    bare = strip_superscripts(tok)[0]
    return bool(re.fullmatch(r"(?:19|20)\d{2}\d?", bare)) or is_period(bare)


def _row_run(line: str, allow_text_tail: bool = True) -> tuple[list[Token], tuple[int, int], str] | None:
    """The numeric run that holds the row's values, with the text after it (a comment column)."""
    tokens = tokenize(line)
    if not tokens:
        return None
    runs = numeric_runs(tokens)
    if not runs:
        return None
    # a run followed by a capitalised word starts a comment column ('90,0 Innst. 216 S');
    # the earliest such run holds the values, whatever numbers the comment contains
    for start, end in runs:
        if end == len(tokens):
            break
        nxt = tokens[end].text
        vals = tokens[start:end]
        numbers = sum(1 for t in vals if re.match(r"^[-–−]?\d", t.text))
        if allow_text_tail and (nxt[:1].isupper() or nxt[:1] in "ÆØÅ(") and (
            any("," in t.text or t.text.endswith("%") for t in vals) or numbers >= 3
        ):
            if all(_is_year_token(t.text) for t in vals):
                continue
            return tokens, (start, end), " ".join(t.text for t in tokens[end:])
    start, end = runs[-1]
    if end == len(tokens):
        if all(_is_year_token(t.text) for t in tokens[start:end]):
            return None  # a header line of periods, not data
        return tokens, (start, end), ""
    return None


def _label_of(tokens: list[Token], start: int) -> str:
    return " ".join(t.text for t in tokens[:start]).strip()


def _is_footnote_line(line: str) -> bool:
    text = clean_text(line)
    m = FOOTNOTE_RE.match(text)
    if not m:
        return False
    body = m.group(2).strip()
    if m.group(1).startswith("0") or (body.isupper() and len(body.split()) <= 4):
        return False  # a chapter heading like '07 OPPVEKST'
    return len(body) >= 8 and (body[:1].isupper() or body[:1].isdigit() or body[:1] in "ÆØÅ§(") and _row_run(text, False) is None or (
        m is not None and len(body.split()) >= 6
    )


def _is_label_only(line: str) -> bool:
    text = clean_text(line).strip()
    if not text or len(text) > 100 or _row_run(text) is not None:
        return False
    if CAPTION_RE.match(text) or FIGURE_RE.match(text):
        return False
    return not text.endswith((".", ":", "?")) or text.endswith(("mill.", "adm."))


def _next_nonblank(lines: list[str], i: int) -> int | None:
    while i < len(lines):
        if lines[i].strip():
            return i
        i += 1
    return None


# ----------------------------------------------------------------------------- regions


def _scan_block(lines: list[str], start: int, caption_idx: int | None, number: int | None, caption: str,
                stop_at: set[int]) -> _Block:
    """Collect header lines, rows and footnotes from `start` until the table ends."""
    header: list[tuple[int, str]] = []
    rows: list[_RowDraft] = []
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
        if CAPTION_RE.match(clean_text(raw)) or FIGURE_RE.match(clean_text(raw)):
            break
        parsed = _row_run(raw)
        if not rows:
            # header zone
            if parsed is not None and (_label_of(parsed[0], parsed[1][0]) or pending_label):
                pass  # first data row: fall through
            elif len(header) > 80:
                break
            else:
                header.append((i, raw))
                i += 1
                continue
        if in_footnotes:
            if _is_footnote_line(raw):
                footnotes.append([(i, raw)])
                end = i
                i += 1
                continue
            unfinished = not clean_text(footnotes[-1][-1][1]).rstrip().endswith((".", ")", "!", "?"))
            continues = (text[:1].islower() or text[:1] in "§(") and (unfinished or blanks_before == 0)
            if continues or (blanks_before == 0 and parsed is None and len(text) > 30) or (
                unfinished and parsed is None and not _is_label_only(raw)
            ):
                footnotes[-1].append((i, raw))
                end = i
                i += 1
                continue
            break
        if not rows and header and parsed is not None:
            # a label line right above the first row (after a blank) is a section, not a header
            last_idx, last_raw = header[-1]
            if (
                last_raw.strip()
                and last_idx == i - 1
                and len(header) >= 2
                and not header[-2][1].strip()
                and not any(_is_year_token(t.text) for t in tokenize(last_raw))
                and clean_text(last_raw).strip()[:1].isupper()
                and any(h[1].strip() for h in header[:-2])
            ):
                section = clean_text(last_raw).strip().rstrip(" :")
                header.pop()
        if parsed is not None and not (parsed[2] and not has_text_column and rows and not _label_of(parsed[0], parsed[1][0])):
            tokens, run, tail = parsed
            label = _label_of(tokens, run[0])
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
            rows.append(_RowDraft(label, i, i, tokens, run, tail, section, span_first=span_first))
            end = i
            i += 1
            continue
        if rows and _is_footnote_line(raw):
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
        if _is_label_only(raw):
            j = _next_nonblank(lines, i + 1)
            if j is not None and j not in stop_at:
                nxt = _row_run(lines[j])
                if nxt is not None and _label_of(nxt[0], nxt[1][0]):
                    section = text.rstrip(" :")
                    i += 1
                    continue
                if nxt is not None or (_is_label_only(lines[j]) and has_text_column):
                    if not pending_label:
                        pending_first = i
                    pending_label.append(text)
                    i += 1
                    continue
        break
    return _Block(caption_idx, number, caption, header, rows, footnotes, end)


def _uncaptioned_header(lines: list[str], i: int) -> bool:
    """A header ('... 2018 2019 2020', or a name line over a line of periods) with rows below."""
    tokens = tokenize(lines[i])
    if not tokens or _row_run(lines[i]) is not None:
        return False
    periods = 0
    for t in reversed(tokens):
        if _is_year_token(t.text):
            periods += 1
        else:
            break
    j = _next_nonblank(lines, i + 1)
    if periods < 2:
        if j is None or j != i + 1:
            return False
        nxt = tokenize(lines[j])
        if len(nxt) < 2 or not all(_is_year_token(t.text) for t in nxt):
            return False
        j = _next_nonblank(lines, j + 1)
    elif periods == len(tokens):
        return False
    count = 0
    while j is not None and count < 2:
        if _row_run(lines[j], False) is None:
            break
        count += 1
        j = _next_nonblank(lines, j + 1)
    return count >= 2


# ----------------------------------------------------------------------------- reading rows


def _column_count(rows: list[_RowDraft]) -> int:
    mins = []
    for r in rows:
        counts = [len(x) for x in _candidate_readings(r)]
        if counts:
            mins.append(min(counts))
    if not mins:
        return 0
    return max(mins)


def _candidate_readings(row: _RowDraft) -> list[list[Value]]:
    start, end = row.run
    out: list[list[Value]] = []
    # leading year-like tokens may belong to the label ('Bruk av sektorresultat 2019 -42,2')
    s = start
    while s < end:
        out.extend(readings(row.tokens, s, end))
        if _is_year_token(row.tokens[s].text) and len(row.tokens[s].text) == 4:
            s += 1
        else:
            break
    return out


@dataclass
class _Profile:
    decimals: list[int | None]
    magnitude: list[float | None]
    identities: list[tuple[int, tuple[int, ...], tuple[int, ...]]]  # target = sum(plus) - sum(minus)
    periods: bool


def _learn_profile(fixed: list[list[Value | None]], k: int, period_columns: bool) -> _Profile:
    decimals: list[int | None] = []
    magnitude: list[float | None] = []
    for c in range(k):
        col = [r[c] for r in fixed if r[c] is not None]
        decs = [v.decimals for v in col if v is not None]
        decimals.append(Counter(decs).most_common(1)[0][0] if decs else None)
        mags = [math.log10(abs(v.value)) for v in col if v is not None and v.value != 0]
        magnitude.append(statistics.median(mags) if mags else None)
    identities = []
    full = [r for r in fixed if all(v is not None for v in r)]
    if len(full) >= 2 and k >= 3:
        for target in range(k):
            others = [c for c in range(k) if c != target]
            for size in (2, 3):
                for combo in combinations(others, size):
                    for signs in _sign_patterns(size):
                        plus = tuple(c for c, s in zip(combo, signs, strict=True) if s > 0)
                        minus = tuple(c for c, s in zip(combo, signs, strict=True) if s < 0)
                        ok = [
                            abs(r[target].value - (sum(r[c].value for c in plus) - sum(r[c].value for c in minus)))
                            <= IDENTITY_TOLERANCE
                            for r in full
                        ]
                        nontrivial = sum(1 for r in full if abs(r[target].value) > 0.05)
                        if all(ok) and nontrivial >= 2:
                            identities.append((target, plus, minus))
    return _Profile(decimals, magnitude, identities, period_columns)


def _sign_patterns(size: int) -> list[tuple[int, ...]]:
    if size == 2:
        return [(1, 1), (1, -1), (-1, 1)]
    return [(1, 1, 1)]


def _score(values: list[Value | None], profile: _Profile) -> tuple[float, int]:
    score = 0.0
    confirmed = 0
    for target, plus, minus in profile.identities:
        cells = [values[target], *(values[c] for c in plus), *(values[c] for c in minus)]
        if any(v is None for v in cells):
            continue
        diff = values[target].value - (sum(values[c].value for c in plus) - sum(values[c].value for c in minus))
        if abs(diff) <= IDENTITY_TOLERANCE:
            score += 3
            confirmed += 1
        else:
            score -= 3
    for c, v in enumerate(values):
        if v is None:
            continue
        if profile.decimals[c] is not None and v.decimals != profile.decimals[c]:
            score -= 1.0
        if profile.magnitude[c] is not None and v.value != 0 and not profile.periods:
            score -= 0.5 * min(abs(math.log10(abs(v.value)) - profile.magnitude[c]), 3)
    present = [math.log10(abs(v.value)) for v in values if v is not None and v.value != 0]
    if profile.periods and len(present) >= 2:
        mean = sum(present) / len(present)
        score -= 3 * (sum((x - mean) ** 2 for x in present) / len(present)) ** 0.5
    return score, confirmed


def _placements(values: list[Value], k: int, row: _RowDraft, raw_line: str, usual: int = 1
                ) -> list[tuple[list[Value | None], bool]]:
    """Where the printed values of a short row sit among k columns; flag = whitespace decided it."""
    n = len(values)
    missing = k - n
    gaps = [row.tokens[v.first].gap for v in values]
    inner = gaps[1:]
    wide = [i for i, g in enumerate(inner, start=1) if g > usual]
    if missing > 0 and len(wide) == missing:
        out: list[Value | None] = []
        for i, v in enumerate(values):
            if i in wide:
                out.append(None)
            out.append(v)
        return [(out, True)]
    if missing > 0 and gaps[0] >= 3 and gaps[0] - 1 >= missing:
        return [([None] * missing + list(values), True)]
    if missing > 0 and trailing_spaces(raw_line) >= 2:
        return [(list(values) + [None] * missing, True)]
    options = []
    for cols in combinations(range(k), n):
        out = [None] * k
        for c, v in zip(cols, values, strict=True):
            out[c] = v
        options.append((out, False))
    return options


_SUM_LABEL = re.compile(r"(?i)^(sum|totalt|i alt|samlet)\b|\btotalt$")


def _place_by_column_sums(rows: list[_RowDraft], k: int) -> None:
    """Settle single values of unknown column with a sum row: the block above must add up."""
    loose = [i for i, r in enumerate(rows) if r.uncertain and sum(v is not None for v in r.values) == 1]
    if not loose:
        return
    for s_idx, srow in enumerate(rows):
        if not _SUM_LABEL.search(srow.label.strip()):
            continue
        matches = []
        for j in range(s_idx - 1, -1, -1):
            block = list(range(j, s_idx))
            movable = [i for i in [*block, s_idx] if i in loose]
            if len(movable) > 6 or not movable:
                continue
            for assignment in _assignments(len(movable), k):
                cols = dict(zip(movable, assignment, strict=True))
                if _sums_hold(rows, block, s_idx, cols, k):
                    matches.append((j, cols))
                    if len(matches) > 1:
                        break
            if len(matches) > 1:
                break
        if len(matches) == 1:
            _, cols = matches[0]
            for i, c in cols.items():
                v = next(x for x in rows[i].values if x is not None)
                rows[i].values = [v if col == c else None for col in range(k)]
                rows[i].uncertain = False
                rows[i].reason = f"column settled by the sums in row «{srow.label.strip()}»"
            loose = [i for i in loose if i not in cols]


def _assignments(n: int, k: int):
    if n == 0:
        yield ()
        return
    for rest in _assignments(n - 1, k):
        for c in range(k):
            yield (*rest, c)


def _sums_hold(rows: list[_RowDraft], block: list[int], s_idx: int, cols: dict[int, int], k: int) -> bool:
    def value(i: int, c: int) -> float | None:
        if i in cols:
            return next(v for v in rows[i].values if v is not None).value if cols[i] == c else None
        v = rows[i].values[c] if c < len(rows[i].values) else None
        return v.value if v is not None else None

    checked = 0
    for c in range(k):
        target = value(s_idx, c)
        if target is None:
            continue
        parts = [value(i, c) for i in block]
        if all(p is None for p in parts):
            return False
        total = sum(p for p in parts if p is not None)
        if abs(total - target) > 0.06 * len(block) + 0.1:
            return False
        checked += 1
    return checked >= 1 and len(block) >= 2


def _unique_readings(rows: list[_RowDraft], k: int) -> list[list[Value | None]]:
    out: list[list[Value | None]] = []
    for r in rows:
        exact = {tuple(v.raw for v in c): c for c in _candidate_readings(r) if len(c) == k}
        if len(exact) == 1:
            out.append(list(next(iter(exact.values()))))
    return out


def _satisfiable_identity(rows: list[_RowDraft], k: int) -> bool:
    """Does one arithmetic identity (learned from a row with a single reading) hold in some
    reading of every row?"""
    unique = _unique_readings(rows, k)
    seeds = unique[:1] or [c for c in _candidate_readings(rows[0]) if len(c) == k][:20]
    candidates = {ident for seed in seeds for ident in _learn_profile([seed, seed], k, False).identities}
    for target, plus, minus in sorted(candidates):
        def holds(vals: list[Value], target=target, plus=plus, minus=minus) -> bool:
            want = sum(vals[c].value for c in plus) - sum(vals[c].value for c in minus)
            return abs(vals[target].value - want) <= IDENTITY_TOLERANCE
        if all(any(holds(c) for c in _candidate_readings(r) if len(c) == k) for r in rows):
            return True
    return False


def _read_rows(rows: list[_RowDraft], raw_lines: list[str], header_periods: int) -> int:
    k = _column_count(rows)
    if header_periods > k and any(max((len(x) for x in _candidate_readings(r)), default=0) >= header_periods for r in rows):
        k = header_periods
    if k == 0:
        return 0
    # one column more fits every row and only then does the table add up: take it
    # ('0 100 100' is 0 | 100 | 100 when Endring = 2020 - 2019, not 0 | 100 100)
    if (
        len(rows) >= 2
        and all(any(len(c) == k + 1 for c in _candidate_readings(r)) for r in rows)
        and _satisfiable_identity(rows, k + 1)
        and not _learn_profile(_unique_readings(rows, k), k, False).identities
    ):
        k += 1
    inner_gaps = Counter(
        t.gap for r in rows for t in r.tokens[r.run[0] + 1 : r.run[1]] if t.text not in ("%",) and not t.text.startswith("(")
    )
    usual = min(g for g, _ in inner_gaps.most_common(2)) if inner_gaps else 1
    fixed: list[list[Value | None]] = []
    options: list[list[tuple[list[Value | None], bool]]] = []
    for r in rows:
        cands = _candidate_readings(r)
        opts: list[tuple[list[Value | None], bool]] = []
        seen: set[tuple[str, ...]] = set()
        has_exact = any(len(c) == k and not re.fullmatch(r"(?:19|20)\d{2}", c[0].raw) for c in cands)
        comment_last = bool(r.text_tail) and not r.text_tail.startswith("(") and any(len(c) == k - 1 for c in cands)
        for c in cands:
            if len(c) > k or not c:
                continue
            if comment_last and len(c) == k - 1:
                placed = [([*c, None], True)]  # the comment fills the last column
            elif len(c) == k:
                placed = [(list(c), True)]
            else:
                placed = _placements(c, k, r, raw_lines[r.line_idx], usual)
                if has_exact:
                    placed = [p for p in placed if p[1]]  # unsignalled gaps only when nothing fits
            for o, signal in placed:
                key = tuple(f"{v.first}:{v.raw}" if v else "" for v in o)
                if key not in seen:
                    seen.add(key)
                    opts.append((o, signal))
        exact = [o for o, _ in opts if all(v is not None for v in o)]
        if len(exact) == 1 or (len(opts) == 1 and opts[0][1]):
            fixed.append(exact[0] if exact else opts[0][0])
        options.append(opts)
    profile = _learn_profile(fixed, k, header_periods >= 2)
    for r, opts in zip(rows, options, strict=True):
        if not opts:
            r.values = [None] * k
            r.uncertain = True
            r.reason = "no reading of the numbers fits the column count"
            continue
        if len(opts) == 1:
            r.values = opts[0][0]
            if not opts[0][1]:
                r.uncertain = True
                r.reason = "one value in a wide table; its column is not certain"
            continue
        scored = []
        for o, signal in opts:
            sc, confirmed = _score(o, profile)
            first = next(v for v in o if v is not None)
            if first.decimals == 0 and re.fullmatch(r"(?:19|20)\d{2}", first.raw) and any(
                d for d in profile.decimals if d
            ):
                sc -= 4  # a year right after the label belongs to the label
            present = [i for i, v in enumerate(o) if v is not None]
            if not signal:
                sc -= 4.0 * (k - len(present))  # empty cells need a whitespace sign
            if not signal and present and present[-1] == k - 1:
                sc += 0.2  # with nothing else to go by, values sit in the last columns
            scored.append((sc, confirmed, signal, o))
        scored.sort(key=lambda x: -x[0])
        best_score, confirmed, signal, best = scored[0]
        margin = best_score - scored[1][0]
        r.values = best
        if confirmed and margin >= 3:
            r.reason = "reading chosen by the table's arithmetic"
        elif margin >= 1.0 and (signal or all(v is not None for v in best)):
            r.reason = "reading chosen by column formats and magnitudes"
        else:
            r.uncertain = True
            r.reason = "several readings fit; chosen by alignment, not verified"
    _place_by_column_sums(rows, k)
    for r in rows:
        first_value = next((v for v in r.values if v is not None), None)
        if first_value is not None and first_value.first > r.run[0]:
            extra = " ".join(t.text for t in r.tokens[r.run[0] : first_value.first])
            r.label = (r.label + " " + extra).strip()
    return k


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


def _fix_orphan_markers(rows: list[_RowDraft], orphans: set[str]) -> None:
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


def _to_table(block: _Block, lines: list[str], chapter: Chapter) -> Table | None:
    header_tokens = " ".join(clean_text(raw) for _, raw in block.header_lines).split()
    header_periods = sum(1 for t in header_tokens if _is_year_token(t) and not re.search("[–-]", t))
    k = _read_rows(block.rows, lines, header_periods)
    if k == 0 or not block.rows:
        return None
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
                tuple(dict.fromkeys(row_markers)))
        )
    first = (block.caption_idx if block.caption_idx is not None else block.header_lines[0][0]) + 1
    unit = header.unit
    if unit is None:
        m = re.search(r"\((mill\. kr|mill\. 2020-kr|kr|prosent|antall)\)", block.caption)
        unit = m.group(1) if m else None
    return Table(
        number=block.number,
        caption=block.caption,
        unit=unit,
        columns=tuple(columns),
        rows=tuple(out_rows),
        lines=(first, block.end_idx + 1),
        chapter=chapter,
        footnotes=tuple(footnotes),
        label_header=header.label_header,
        group_header=header.group_header,
        attached_to=block.attached_to,
    )


def parse_tables(lines: list[str], chapter_of_line) -> list[Table]:
    """All tables in the report: captioned ones and uncaptioned blocks printed right under them."""
    captions = find_captions(lines)
    caption_lines = {idx for idx, _, _ in captions}
    tables: list[Table] = []
    for idx, number, caption in captions:
        block = _scan_block(lines, idx + 1, idx, number, caption, caption_lines - {idx})
        table = _to_table(block, lines, chapter_of_line(idx + 1))
        if table is None:
            continue
        tables.append(table)
        # uncaptioned blocks that follow right after (another header line with periods)
        nxt = _next_nonblank(lines, block.end_idx + 1)
        guard = 0
        while nxt is not None and nxt not in caption_lines and guard < 3 and _uncaptioned_header(lines, nxt):
            guard += 1
            sub = _scan_block(lines, nxt, None, None, "", caption_lines)
            sub.attached_to = number
            sub.caption = f"{caption} (fortsatt: {clean_text(lines[nxt]).strip()})"
            sub_table = _to_table(sub, lines, chapter_of_line(nxt + 1))
            if sub_table is None:
                break
            tables.append(sub_table)
            nxt = _next_nonblank(lines, sub.end_idx + 1)
    return tables

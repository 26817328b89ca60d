"""Reading the values of a table's rows: choose among each line's readings.

A space separates both thousands groups and columns, so a line usually has several readings
(ingest/rowparse.py lists them, ingest/rowreadings.py places them in the columns). The column
count, the column formats and the table's own arithmetic (ingest/rowsums.py: difference and sum
columns learned from the rows that have only one reading) choose. A row that stays ambiguous is
marked uncertain, with the reason; so is one whose values break their column's format.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter

from ingest.blocks import RowDraft
from ingest.rowparse import Value
from ingest.rowreadings import all_placements, candidate_readings, placements
from ingest.rowsums import (
    IDENTITY_TOLERANCE,
    Profile,
    every_row_reads_as,
    identities_in_every_row,
    learn_profile,
    place_by_column_sums,
    satisfiable_identity,
    unique_readings,
)

# ----------------------------------------------------------------------------- reading rows


def _column_count(rows: list[RowDraft]) -> int:
    mins = []
    for r in rows:
        if r.explicit and r.fixed is not None:
            mins.append(len(r.fixed))
            continue
        counts = [len(x) for x in candidate_readings(r)]
        if counts:
            mins.append(min(counts))
    if not mins:
        return 0
    return max(mins)


def _min_count(row: RowDraft) -> int | None:
    counts = [len(x) for x in candidate_readings(row)]
    return min(counts) if counts else None


def _label_digit(row: RowDraft) -> bool:
    """The run opens with a 1-2 digit whole number printed right after the label: it may be the
    label's own ('Likviditetsgrad 1 2,14 1,95')."""
    start, end = row.run
    tok = row.tokens[start]
    return row.fixed is None and bool(row.label) and end - start >= 2 and tok.gap == 1 and re.fullmatch(r"\d{1,2}", tok.text) is not None


def _fit_to_header(rows: list[RowDraft], k: int, header_count: int) -> int:
    """The header names fewer columns than the widest rows have numbers: when those rows are a
    minority, the header's count holds. A row's extra number opening the run joins its label
    when that makes the row fit; other rows stay over and are marked uncertain later."""
    mins = {id(r): _min_count(r) for r in rows}
    over = [r for r in rows if (mins[id(r)] or 0) > header_count]
    rest = [mins[id(r)] for r in rows if r not in over and mins[id(r)] is not None]
    if not over or not rest or max(rest) != header_count or 2 * len(over) >= len(rows):
        return k
    fixable = []
    for r in over:
        if _label_digit(r):
            r.label_digits = 1
            count = _min_count(r)
            if count is not None and count <= header_count:
                fixable.append(r)
            r.label_digits = 0
    if 4 * (len(over) - len(fixable)) > len(rows):
        return k
    for r in fixable:
        r.label_digits = 1
    return header_count


def _score(values: list[Value | None], profile: Profile) -> tuple[float, int]:
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




def _count_from_header(rows: list[RowDraft], k: int, header_periods: int, header_names: int | None) -> int:
    """The rows' column count corrected by what the header names."""
    if header_names is not None and 0 < header_names < k:
        k = _fit_to_header(rows, k, header_names)
    elif header_names is not None and header_names > k and every_row_reads_as(rows, header_names):
        k = header_names  # '522 233 542 393 -20 160 103,9 %' under four names is four numbers
    if header_periods > k and any(max((len(x) for x in candidate_readings(r)), default=0) >= header_periods for r in rows):
        k = header_periods
    elif header_periods > k and header_names == header_periods:
        k = header_periods  # a header of periods only names the columns, however many each row fills
    return k


def read_rows(rows: list[RowDraft], raw_lines: list[str], header_periods: int, header_names: int | None = None,
              columns: int | None = None) -> int:
    """Choose each row's values; return the number of value columns. `header_periods` counts the
    periods in the header, `header_names` the columns a one-line header names (if known);
    `columns` fixes the count (a header with a note column names the value columns)."""
    k = columns or _column_count(rows)
    if not columns:
        k = _count_from_header(rows, k, header_periods, header_names)
    if k == 0:
        return 0
    # one column more fits every row and only then does the table add up: take it
    # ('0 100 100' is 0 | 100 | 100 when Endring = 2020 - 2019, not 0 | 100 100)
    if (
        not columns
        and len(rows) >= 2
        and all(any(len(c) == k + 1 for c in candidate_readings(r)) for r in rows)
        and satisfiable_identity(rows, k + 1)
        and not learn_profile(unique_readings(rows, k), k, False).identities
    ):
        k += 1
    inner_gaps = Counter(
        t.gap for r in rows for t in r.tokens[r.run[0] + 1 : r.run[1]] if t.text not in ("%",) and not t.text.startswith("(")
    )
    usual = min(g for g, _ in inner_gaps.most_common(2)) if inner_gaps else 1
    fixed: list[list[Value | None]] = []
    options: list[list[tuple[list[Value | None], bool]]] = []
    for r in rows:
        cands = candidate_readings(r)
        opts: list[tuple[list[Value | None], bool]] = []
        seen: set[tuple[str, ...]] = set()
        has_exact = any(len(c) == k and not re.fullmatch(r"(?:19|20)\d{2}", c[0].raw) for c in cands)
        comment_last = bool(r.text_tail) and not r.text_tail.startswith("(") and any(len(c) == k - 1 for c in cands)
        for c in cands:
            if len(c) > k or not c:
                continue
            if r.explicit and r.fixed is not None:
                placed = [([*r.fixed, *[None] * (k - len(r.fixed))], True)] if len(r.fixed) <= k else []
            elif r.fixed is not None and len(c) < k:
                placed = placements(c, k, r, "", usual, cues=False)  # line breaks say nothing of empty cells
            elif comment_last and len(c) == k - 1:
                placed = [([*c, None], True)]  # the comment fills the last column
            elif len(c) == k:
                placed = [(list(c), True)]
            else:
                placed = placements(c, k, r, r.text or raw_lines[r.line_idx], usual)
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
    profile = learn_profile(fixed, k, header_periods >= 2)
    if not profile.identities:
        profile.identities = identities_in_every_row(rows, k)
    for r, opts in zip(rows, options, strict=True):
        if not opts:
            r.values = [None] * k
            r.uncertain = True
            printed = " ".join(t.text for t in r.tokens[r.run[0] : r.run[1]])
            r.reason = f"the numbers «{printed}» do not fit the table's {k} columns; not read"
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
    place_by_column_sums(rows, k)
    confirmed = {id(r) for r in rows if _confirmed(r.values, profile)}
    _check_formats([r for r in rows if id(r) not in confirmed], k, rows)
    for r in rows:
        first_value = next((v for v in r.values if v is not None), None)
        if first_value is not None and first_value.first > r.run[0] and r.fixed is None and not r.note_maybe:
            extra = " ".join(t.text for t in r.tokens[r.run[0] : first_value.first])
            r.label = (r.label + " " + extra).strip()
    return k


def _joinable(r: RowDraft, c: int) -> bool:
    """Value c of a row is a whole number of 1-3 digits printed one space before an unsigned
    value whose whole part has three digits: the two may be one number ('23 706,7', '1 200')."""
    v = r.values[c]
    nxt = r.values[c + 1] if c + 1 < len(r.values) else None
    if r.fixed is not None or v is None or nxt is None or v.decimals or v.percent or nxt.percent or " " in v.raw:
        return False
    whole = nxt.raw.split(",")[0]
    return len(v.raw.lstrip("-")) <= 3 and re.fullmatch(r"\d{3}", whole) is not None and r.tokens[nxt.first].gap == 1


def _confirmed(values: list[Value | None], profile: Profile) -> bool:
    """The table's arithmetic holds in this reading of the row."""
    for target, plus, minus in profile.identities:
        cells = [values[target], *(values[c] for c in plus), *(values[c] for c in minus)]
        if any(v is None for v in cells):
            continue
        want = sum(values[c].value for c in plus) - sum(values[c].value for c in minus)
        if abs(values[target].value - want) <= IDENTITY_TOLERANCE:
            return True
    return False


def _check_formats(rows: list[RowDraft], k: int, table: list[RowDraft] | None = None) -> None:
    """A whole number in a column whose other values all have decimals, printed one space before
    a three-digit value, is likely one number split at its thousands space ('23 706,7' read as
    '23 | 706,7'): the row is uncertain, and re-read with an empty cell when exactly one reading
    puts every value in its column's format."""
    usual: list[int | None] = []
    suspects: list[tuple[RowDraft, int]] = []
    checked = {id(r) for r in rows}  # rows the arithmetic confirms are context, never suspects
    settled = [r for r in (table or rows) if not r.uncertain]
    # the whole table's format, for a column with too few values of its own (the decimals of a
    # printed number are a fact whichever column an uncertain row puts it in)
    everything = table or rows
    every = {v.decimals for r in everything for c, v in enumerate(r.values) if v is not None and not _joinable(r, c)}
    n_every = sum(1 for r in everything for c, v in enumerate(r.values) if v is not None and not _joinable(r, c))
    table_usual = next(iter(every)) if len(every) == 1 and n_every >= 4 else None
    for c in range(k):
        col = [r for r in settled if c < len(r.values) and r.values[c] is not None]
        odd = [r for r in col if _joinable(r, c)]
        decs = {r.values[c].decimals for r in col if r not in odd}
        own = decs.pop() if len(decs) == 1 and len(col) - len(odd) >= 2 else None
        usual.append(own if own is not None else table_usual)
        if usual[c]:
            suspects.extend((r, c) for r in odd if id(r) in checked)
        # a whole number alone in a row and a column of decimals ('0,0 0,0 0,0 1': cut short)
        counts = Counter(r.values[c].decimals for r in col if r not in odd)
        major, n_major = counts.most_common(1)[0] if counts else (0, 0)
        if major and n_major >= 3 and 4 * n_major >= 3 * (len(col) - len(odd)):
            for r in col:
                v = r.values[c]
                others = [x for i, x in enumerate(r.values) if x is not None and i != c]
                if id(r) in checked and r not in odd and v.decimals == 0 and not v.percent and others and all(
                    x.decimals == major for x in others
                ):
                    suspects.append((r, c))
                    usual[c] = usual[c] or major
    # a number far smaller than the rest of its column, that may be the first group of the next
    # ('Renter 1 200' under millions: 1 | 200, or 1 200?)
    for c in range(k):
        col = [r for r in settled if c < len(r.values) and r.values[c] is not None]
        for r in col:
            v = r.values[c]
            others = [abs(x.values[c].value) for x in col if x is not r and x.values[c].value]
            if len(others) < 2 or r.fixed is not None or id(r) not in checked:
                continue
            if _joinable(r, c) and 1000 * abs(v.value) < statistics.median(others):
                r.uncertain = True
                r.reason = (f"«{v.raw} {r.values[c + 1].raw}» may be one number: «{v.raw}» is far smaller "
                            "than the rest of its column")
            elif v.raw.count(" ") >= 2 and abs(v.value) > 1000 * statistics.median(others):
                r.uncertain = True
                r.reason = f"«{v.raw}» may be two numbers: it is far larger than the rest of its column"
    for r, c in suspects:
        if r.uncertain:
            continue
        raw = r.values[c].raw
        r.uncertain = True
        r.reason = f"«{raw}» has no decimals where its column has {usual[c]}; a number may be split at a space or cut short"
        fitting = {
            tuple(f"{x.first}:{x.raw}" if x else "" for x in o): o
            for o in all_placements(r, k)
            if all(x is None or usual[i] is None or x.decimals == usual[i] for i, x in enumerate(o))
        }
        if len(fitting) == 1:
            r.values = next(iter(fitting.values()))
            r.reason += "; read with an empty cell instead (not verified)"



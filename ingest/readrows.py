"""Reading the values of a table's rows: choose among each line's readings.

A space separates both thousands groups and columns, so a line usually has several readings
(ingest/rowparse.py lists them). The column count, the column formats and the table's own
arithmetic (difference and sum columns learned from the rows that have only one reading) choose.
A row that stays ambiguous is marked uncertain, with the reason.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from ingest.blocks import RowDraft
from ingest.linekinds import is_year_token
from ingest.rowparse import Value, readings, trailing_spaces

IDENTITY_TOLERANCE = 0.15


# ----------------------------------------------------------------------------- reading rows


def _column_count(rows: list[RowDraft]) -> int:
    mins = []
    for r in rows:
        counts = [len(x) for x in _candidate_readings(r)]
        if counts:
            mins.append(min(counts))
    if not mins:
        return 0
    return max(mins)


def _candidate_readings(row: RowDraft) -> list[list[Value]]:
    start, end = row.run
    out: list[list[Value]] = []
    # leading year-like tokens may belong to the label ('Bruk av sektorresultat 2019 -42,2')
    s = start
    while s < end:
        out.extend(readings(row.tokens, s, end))
        if is_year_token(row.tokens[s].text) and len(row.tokens[s].text) == 4:
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


def _placements(values: list[Value], k: int, row: RowDraft, raw_line: str, usual: int = 1
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


def _place_by_column_sums(rows: list[RowDraft], k: int) -> None:
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


def _sums_hold(rows: list[RowDraft], block: list[int], s_idx: int, cols: dict[int, int], k: int) -> bool:
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


def _unique_readings(rows: list[RowDraft], k: int) -> list[list[Value | None]]:
    out: list[list[Value | None]] = []
    for r in rows:
        exact = {tuple(v.raw for v in c): c for c in _candidate_readings(r) if len(c) == k}
        if len(exact) == 1:
            out.append(list(next(iter(exact.values()))))
    return out


def _satisfiable_identity(rows: list[RowDraft], k: int) -> bool:
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


def read_rows(rows: list[RowDraft], raw_lines: list[str], header_periods: int) -> int:
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

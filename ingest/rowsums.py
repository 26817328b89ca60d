"""The table's own arithmetic: identities among its columns, and column sums that place values.

What the rows with a single reading teach (each column's format and magnitude, and the identities
a column = a sum/difference of other columns), whether an identity holds in some reading of every
row, and a sum row ('Sum', 'Totalt', ...) that settles the column of a lone value above it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from ingest.blocks import RowDraft
from ingest.rowparse import Value
from ingest.rowreadings import candidate_readings

IDENTITY_TOLERANCE = 0.15


@dataclass
class Profile:
    decimals: list[int | None]
    magnitude: list[float | None]
    identities: list[tuple[int, tuple[int, ...], tuple[int, ...]]]  # target = sum(plus) - sum(minus)
    periods: bool


def learn_profile(fixed: list[list[Value | None]], k: int, period_columns: bool) -> Profile:
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
    return Profile(decimals, magnitude, identities, period_columns)


def _sign_patterns(size: int) -> list[tuple[int, ...]]:
    if size == 2:
        return [(1, 1), (1, -1), (-1, 1)]
    return [(1, 1, 1)]


_SUM_LABEL = re.compile(r"(?i)^(sum|totalt|i alt|samlet)\b|\btotalt$")


def place_by_column_sums(rows: list[RowDraft], k: int) -> None:
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


def unique_readings(rows: list[RowDraft], k: int) -> list[list[Value | None]]:
    out: list[list[Value | None]] = []
    for r in rows:
        exact = {tuple(v.raw for v in c): c for c in candidate_readings(r) if len(c) == k}
        if len(exact) == 1:
            out.append(list(next(iter(exact.values()))))
    return out


def satisfiable_identity(rows: list[RowDraft], k: int) -> bool:
    """Does one arithmetic identity (learned from a row with a single reading) hold in some
    reading of every row?"""
    unique = unique_readings(rows, k)
    seeds = unique[:1] or [c for c in candidate_readings(rows[0]) if len(c) == k][:20]
    candidates = {ident for seed in seeds for ident in learn_profile([seed, seed], k, False).identities}
    for target, plus, minus in sorted(candidates):
        def holds(vals: list[Value], target=target, plus=plus, minus=minus) -> bool:
            want = sum(vals[c].value for c in plus) - sum(vals[c].value for c in minus)
            return abs(vals[target].value - want) <= IDENTITY_TOLERANCE
        if all(any(holds(c) for c in candidate_readings(r) if len(c) == k) for r in rows):
            return True
    return False


def every_row_reads_as(rows: list[RowDraft], n: int) -> bool:
    """Every row has a reading of n values, and the table's arithmetic confirms it or no row has
    another reading of n values."""
    if len(rows) < 2 or not all(any(len(c) == n for c in candidate_readings(r)) for r in rows):
        return False
    return satisfiable_identity(rows, n) or len(unique_readings(rows, n)) == len(rows)


def identities_in_every_row(rows: list[RowDraft], k: int) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """Identities (a column = a sum/difference of others) that hold in some reading of every
    full row: how a table of large space-grouped numbers, where hardly a row has one reading,
    still tells where its numbers end. Needs three full rows and a non-zero target in two."""
    full = [r for r in rows if any(len(c) == k for c in candidate_readings(r))]
    if len(full) < 3 or 2 * len(full) < len(rows) or k < 3:
        return []
    seeds = [c for c in candidate_readings(full[0]) if len(c) == k][:20]
    candidates = {ident for seed in seeds for ident in learn_profile([seed, seed], k, False).identities}
    found = []
    for target, plus, minus in sorted(candidates):
        def holds(vals: list[Value], target=target, plus=plus, minus=minus) -> bool:
            want = sum(vals[c].value for c in plus) - sum(vals[c].value for c in minus)
            return abs(vals[target].value - want) <= IDENTITY_TOLERANCE

        nonzero = 0
        for r in full:
            good = [c for c in candidate_readings(r) if len(c) == k and holds(c)]
            if not good:
                break
            nonzero += any(abs(c[target].value) > 0.05 for c in good)
        else:
            if nonzero >= 2:
                found.append((target, plus, minus))
    return found

"""When not to answer. Signals combined: another municipality named, a year the source does not
cover, weak coverage of the question's content words, no number where a number is asked for.

Never invents a number: an abstention carries no value, and points to the nearest thing the
report does hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.query import QueryAnalysis
from rag.resolve import ProseFact, ReportIndex, Resolution, TableFact, prose_missing_years

# Coverage (0..1, idf-weighted share of the question's content words found in the source)
# below which the bot says the report does not hold the answer. Calibrated on the eval set.
MIN_TABLE_COVERAGE = 0.45
# A long question may put most of its words into qualifiers ("justert til 2020-kroner", "når
# koronaeffektene holdes utenfor") while naming the row exactly: a row whose label words the
# question all explains (precision), with enough idf weight behind them (support, in units of the
# idf of a word found in one chunk; a bare "SUM" row has none), is answered down to this coverage.
NAMED_ROW_PRECISION = 0.95
NAMED_ROW_SUPPORT = 2 / 3
NAMED_ROW_MIN_COVERAGE = 0.2
MIN_PROSE_COVERAGE = 0.5
MIN_TEXT_COVERAGE = 0.4  # questions that want a name or a fact, not a number
# The question's weightiest word must be found (itself, a synonym, or its compound parts).
MIN_KEY_CREDIT = 0.0  # off: measured to cost more answerable questions than it saves


@dataclass(frozen=True)
class Verdict:
    abstain: bool
    reason: str | None = None  # other_municipality | year | coverage | breakdown | no_number | nothing
    detail: str | None = None  # e.g. the missing year or the municipality
    nearest: TableFact | ProseFact | None = None


def decide(a: QueryAnalysis, res: Resolution, idx: ReportIndex) -> Verdict:
    fact: TableFact | ProseFact | None = res.table if res.choice == "table" else res.prose if res.choice == "prose" else None
    nearest = fact or res.table or res.prose
    if a.other_entities:
        return Verdict(True, "other_municipality", ", ".join(a.other_entities), None)
    if fact is None:
        return Verdict(True, "nothing", None, None)
    missing = _missing_years(a, fact, idx)
    if missing:
        # name the years the question wrote ("2000", not the 1999 of "ett år før"): the answer
        # shows no number the question or the sources do not
        named = [y for y in missing if str(y) in a.text]
        return Verdict(True, "year", ", ".join(str(y) for y in named) or None,
                       _nearest_in_time(res, missing) or nearest)
    if fact.key_credit < MIN_KEY_CREDIT:
        return Verdict(True, "coverage", f"key word {fact.key_credit:.2f}", nearest)
    if isinstance(fact, TableFact):
        if fact.table_coverage < MIN_TABLE_COVERAGE and not names_row(fact):
            return Verdict(True, "coverage", f"{fact.table_coverage:.2f}", nearest)
        if fact.qualifier_elsewhere:
            return Verdict(True, "breakdown", fact.qualifier_elsewhere, nearest)
        return Verdict(False)
    limit = MIN_PROSE_COVERAGE if a.wants_number else MIN_TEXT_COVERAGE
    if fact.coverage < limit:
        return Verdict(True, "coverage", f"{fact.coverage:.2f}", nearest)
    if a.wants_number and fact.value is None:
        return Verdict(True, "no_number", None, nearest)
    return Verdict(False)


def names_row(fact: TableFact) -> bool:
    """The question names the fact's row specifically (see NAMED_ROW_*)."""
    return (fact.precision >= NAMED_ROW_PRECISION and fact.label_support >= NAMED_ROW_SUPPORT
            and fact.table_coverage >= NAMED_ROW_MIN_COVERAGE)


def _missing_years(a: QueryAnalysis, fact: TableFact | ProseFact, idx: ReportIndex) -> list[int]:
    if not a.years:
        return []
    if isinstance(fact, TableFact):
        return list(fact.missing_years)
    return prose_missing_years(idx, a, fact)


def _nearest_in_time(res: Resolution, missing: list[int]) -> TableFact | None:
    """Among the table candidates, the one whose years come closest to the years asked about."""
    def gap(t: TableFact) -> int:
        years = [y for c in t.cell.table.columns for y in map(int, re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", c))]
        return min((abs(y - m) for y in years for m in missing), default=10_000)

    cands = [t for t in res.table_candidates if t.coverage >= 0.5]
    return min(cands, key=lambda t: (gap(t), -t.score)) if cands else None

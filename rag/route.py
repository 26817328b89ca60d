"""Which loaded reports a question is about: chosen before anything is scored, so the cost of an
answer follows the reports it needs, not every report in the index.

Rules, from the reports' own metadata (municipality, year) and the years their tables and text
cover; nothing here knows a particular report:

* the reports the user picked (all when none are picked);
* a municipality the question names narrows to that municipality's reports;
* for each municipality left, each year the question names goes to the earliest report of that
  year or later that covers it (the 2020 figures of a 2021 report are last year's column; the
  2020 report has the final accounts); a year no report covers goes to the newest report, where
  the answer engine says that year is not covered;
* no year: the report the previous answer came from, else the newest report of each municipality.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.records import Report

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


@dataclass(frozen=True)
class ReportKey:
    """What routing needs to know of one report."""

    id: str
    municipality: str  # first word, lower case ("" when unknown)
    year: int | None
    covers: frozenset[int]  # years its tables, text and title have figures for


def report_key(report: Report) -> ReportKey:
    meta = report.meta
    years: set[int] = {meta.year} if meta and meta.year else set()
    for t in report.tables:
        for col in t.columns:
            years.update(int(y) for y in _YEAR.findall(col))
    for p in report.passages:
        years.update(int(y) for y in _YEAR.findall(p.text))
    muni = (meta.municipality or "").split()[0].lower() if meta and meta.municipality else ""
    return ReportKey(meta.id if meta else report.source_name, muni, meta.year if meta else None, frozenset(years))


def named_municipalities(keys: Sequence[ReportKey], question: str) -> set[str]:
    """Municipalities of loaded reports that the question names."""
    text = question.lower()
    return {k.municipality for k in keys if k.municipality and re.search(rf"\b{re.escape(k.municipality)}", text)}


def previous_report(history: Iterable[Any]) -> str | None:
    """The report id the newest earlier answer in the history cites (Answer objects only)."""
    for item in reversed(list(history)):
        citations = getattr(item, "citations", None)
        if citations:
            return getattr(citations[0], "report", None)
        if hasattr(item, "question"):
            return None
    return None


def _newest(group: list[int], keys: Sequence[ReportKey]) -> int:
    return max(group, key=lambda i: (keys[i].year or 0, i))


def _for_year(group: list[int], keys: Sequence[ReportKey], year: int) -> int:
    covering = [i for i in group if year in keys[i].covers]
    later = [i for i in covering if (keys[i].year or 0) >= year]
    if later:
        return min(later, key=lambda i: (keys[i].year or 0, i))
    return _newest(covering or group, keys)


def route(keys: Sequence[ReportKey], question: str, picked: Iterable[str] | None = None,
          previous: str | None = None) -> tuple[int, ...]:
    """Indexes of the reports to score for this question (sorted; empty when none are picked)."""
    pool = list(range(len(keys)))
    if picked is not None:
        wanted = set(picked)
        pool = [i for i in pool if keys[i].id in wanted]
    if len(pool) <= 1:
        return tuple(pool)
    named = named_municipalities([keys[i] for i in pool], question)
    if named:
        pool = [i for i in pool if keys[i].municipality in named]
    years = sorted({int(y) for y in _YEAR.findall(question)})
    if not years and not named and previous is not None:
        same = [i for i in pool if keys[i].id == previous]
        if same:
            return tuple(same)
    groups: dict[str, list[int]] = {}
    for i in pool:
        groups.setdefault(keys[i].municipality or keys[i].id, []).append(i)
    chosen: set[int] = set()
    for group in groups.values():
        if years:
            chosen.update(_for_year(group, keys, y) for y in years)
        else:
            chosen.add(_newest(group, keys))
    return tuple(sorted(chosen))


__all__ = ["ReportKey", "report_key", "route", "named_municipalities", "previous_report"]

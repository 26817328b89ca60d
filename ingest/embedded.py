"""What gets embedded for each report: the texts the answer engine compares a question with.

One vector per distinct thing, never per candidate: a table row's context (caption, section,
label) serves every cell of the row; a column's name serves every cell below it; a sentence
serves every figure printed in it. A unit's key names what it describes by position in the
report, so the answer engine finds it again without any text matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.records import Report, Table
from ingest.sentences import passage_sentences

UnitKind = Literal["row", "column", "sentence"]
UNITS_VERSION = "2"  # bump when unit texts change (the index must then be rebuilt): 2 = list items whole


@dataclass(frozen=True)
class Unit:
    kind: UnitKind
    key: str  # "row:3:12" (table 3, row 12), "column:3:1", "sentence:40:2" (passage 40, sentence 2)
    text: str


def caption_topic(table: Table) -> str:
    """The caption without its «Tabell N viser» lead: what the table is about."""
    return re.sub(r"^\s*(?:Tabell|Table)\s+[\d.]+\s*(?:viser|shows|:|–|-)?\s*", "", table.caption).strip()


def row_context(table: Table, row_index: int) -> str:
    row = table.rows[row_index]
    section = f"{row.section} – " if row.section and row.section != row.label else ""
    return f"{caption_topic(table)}. {section}{row.label}"


def report_units(report: Report) -> list[Unit]:
    units: list[Unit] = []
    for ti, table in enumerate(report.tables):
        topic = caption_topic(table)
        for ri in range(len(table.rows)):
            units.append(Unit("row", f"row:{ti}:{ri}", row_context(table, ri)))
        for ci, column in enumerate(table.columns):
            units.append(Unit("column", f"column:{ti}:{ci}", f"{topic}: {column}"))
    for pi, passage in enumerate(report.passages):
        for si, sentence in enumerate(passage_sentences(report, passage)):
            units.append(Unit("sentence", f"sentence:{pi}:{si}", sentence.text))
    return units

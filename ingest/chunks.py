"""Retrieval units: prose chunks (sentences whole), one self-describing document per table row,
and one document per whole table (its JSON rides along in metadata for the answer stage)."""

from __future__ import annotations

import re

from ingest.prose import split_sentences
from ingest.records import Chunk, Passage, Report, Table
from ingest.tables_view import table_to_json

PROSE_TARGET_WORDS = 90
PROSE_MAX_WORDS = 160


def table_key(table: Table, index: int) -> str:
    """Stable key: '7' for Tabell 7, '17.1' for a block printed under it, 'u3' for others."""
    if table.number is not None:
        return str(table.number)
    if table.attached_to is not None:
        return f"{table.attached_to}.{index}"
    return f"u{index}"


def _caption_topic(table: Table) -> str:
    return re.sub(r"^Tabell \d+ viser\s*", "", table.caption).strip()


def row_text(table: Table, row_index: int) -> str:
    """'Tabell 7: hovedtall fra balansen (Mill. kr.). Likviditetsreserve. 2019: 1 759,0; ...'"""
    row = table.rows[row_index]
    head = f"Tabell {table.cite_number}" if table.cite_number is not None else "Tabell"
    unit = f" ({table.unit})" if table.unit else ""
    where = f"{row.section} – " if row.section else ""
    cells = "; ".join(f"{c.column}: {c.raw or '–'}" for c in row.cells)
    return f"{head}: {_caption_topic(table)}{unit}. {where}{row.label}. {cells}"


def table_text(table: Table) -> str:
    head = f"Tabell {table.cite_number}" if table.cite_number is not None else "Tabell"
    unit = f" ({table.unit})" if table.unit else ""
    # kept short: the rows have their own documents; this one finds a table by its caption
    return f"{head}: {_caption_topic(table)}{unit}. Kolonner: {', '.join(table.columns)}."


def _prose_groups(passages: tuple[Passage, ...]) -> list[list[Passage]]:
    """Consecutive passages of one section, up to a target size; a long passage stands alone."""
    groups: list[list[Passage]] = []
    current: list[Passage] = []
    words = 0
    for p in passages:
        n = len(p.text.split())
        same = current and current[-1].chapter == p.chapter and current[-1].section == p.section
        if current and (not same or words + n > PROSE_TARGET_WORDS):
            groups.append(current)
            current, words = [], 0
        current.append(p)
        words += n
    if current:
        groups.append(current)
    return groups


def _split_long(p: Passage) -> list[str]:
    sentences = split_sentences(p.text)
    parts: list[str] = []
    buf: list[str] = []
    for s in sentences:
        if buf and len(" ".join([*buf, s]).split()) > PROSE_MAX_WORDS:
            parts.append(" ".join(buf))
            buf = []
        buf.append(s)
    if buf:
        parts.append(" ".join(buf))
    return parts


def build_chunks(report: Report) -> list[Chunk]:
    chunks: list[Chunk] = []
    for group in _prose_groups(report.passages):
        first, last = group[0], group[-1]
        ch = first.chapter
        prefix = " – ".join(x for x in (ch.title or ch.display, first.section) if x)
        texts = [p.text for p in group]
        pieces = _split_long(group[0]) if len(group) == 1 and len(first.text.split()) > PROSE_MAX_WORDS else [" ".join(texts)]
        for n, piece in enumerate(pieces):
            chunks.append(
                Chunk(
                    id=f"p{first.lines[0]}-{last.lines[1]}-{n}",
                    kind="prose",
                    text=f"{prefix}: {piece}" if prefix else piece,
                    lines=(min(p.lines[0] for p in group), max(p.lines[1] for p in group)),
                    chapter_number=ch.number,
                    chapter_title=ch.title,
                    metadata={"section": first.section or "", "chapter_display": ch.display},
                )
            )
    for t_index, table in enumerate(report.tables):
        key = table_key(table, t_index)
        ch = table.chapter
        for r_index, row in enumerate(table.rows):
            chunks.append(
                Chunk(
                    id=f"t{key}-r{r_index}",
                    kind="table_row",
                    text=row_text(table, r_index),
                    lines=row.lines,
                    chapter_number=ch.number,
                    chapter_title=ch.title,
                    table_number=table.cite_number,
                    row_label=row.label,
                    metadata={"table_key": key, "row_index": r_index, "uncertain": row.uncertain},
                )
            )
        chunks.append(
            Chunk(
                id=f"t{key}",
                kind="table",
                text=table_text(table),
                lines=table.lines,
                chapter_number=ch.number,
                chapter_title=ch.title,
                table_number=table.cite_number,
                metadata={"table_key": key, "table_json": table_to_json(table)},
            )
        )
    return chunks

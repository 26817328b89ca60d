"""Tables as JSON (for `rapport tables --json`, the index and the UI) and as text grids.

The grid is for staff checking a new report: each table opens with what was recovered (columns,
unit, rows, cells: numbers, empty, text) and whether every row was read for certain; the
uncertain rows follow the grid with the reason and the source line to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.records import Cell, Chapter, Footnote, Row, Table


@dataclass(frozen=True)
class TableSummary:
    rows: int
    columns: int
    cells: int
    numbers: int
    empty: int
    text: int
    uncertain: tuple[tuple[str, int, str], ...]  # (label, first line, reason)


def table_title(t: Table) -> str:
    """'Tabell 4.7 Sammendrag ...'; '(uten nummer, under tabell 17) ...'; '(uten nummer) Økonomisk oversikt drift'."""
    if t.number is not None:
        return t.caption
    if t.attached_to is not None:
        return f"(uten nummer, under tabell {t.attached_to}) {t.caption}"
    return f"(uten nummer) {t.caption}"


def summarize(t: Table) -> TableSummary:
    cells = [c for r in t.rows for c in r.cells]
    return TableSummary(
        rows=len(t.rows),
        columns=len(t.columns),
        cells=len(cells),
        numbers=sum(c.value is not None for c in cells),
        empty=sum(c.raw == "" for c in cells),
        text=sum(c.value is None and c.raw != "" for c in cells),
        uncertain=tuple((r.label, r.lines[0], r.reason or "") for r in t.rows if r.uncertain),
    )


def table_to_json(t: Table) -> dict[str, Any]:
    s = summarize(t)
    return {
        "id": t.cite_number,
        "number": t.number,
        "attached_to": t.attached_to,
        "caption": t.caption,
        "unit": t.unit,
        "columns": list(t.columns),
        "label_header": t.label_header,
        "group_header": t.group_header,
        "lines": list(t.lines),
        "chapter": {"number": t.chapter.number, "title": t.chapter.title, "lines": list(t.chapter.lines)},
        "footnotes": [{"marker": f.marker, "text": f.text, "lines": list(f.lines)} for f in t.footnotes],
        "summary": {
            "rows": s.rows, "columns": s.columns, "cells": s.cells, "numbers": s.numbers, "empty": s.empty,
            "text": s.text, "uncertain_rows": len(s.uncertain),
        },
        "rows": [
            {
                "label": r.label,
                "section": r.section,
                "lines": list(r.lines),
                "uncertain": r.uncertain,
                "reason": r.reason,
                "footnotes": list(r.footnotes),
                "note": r.note,
                "source": r.source,
                "cells": [{"column": c.column, "raw": c.raw, "value": c.value} for c in r.cells],
            }
            for r in t.rows
        ],
    }


def tables_to_json(tables: list[Table]) -> dict[str, Any]:
    return {"tables": [table_to_json(t) for t in tables]}


def table_from_json(d: dict[str, Any]) -> Table:
    ch = d.get("chapter") or {}
    chapter = Chapter(ch.get("number"), ch.get("title"), tuple(ch.get("lines", (0, 0))))
    rows = tuple(
        Row(
            label=r["label"],
            cells=tuple(Cell(c["column"], c["raw"], c["value"]) for c in r["cells"]),
            lines=tuple(r["lines"]),
            source=r.get("source", ""),
            uncertain=r.get("uncertain", False),
            reason=r.get("reason"),
            section=r.get("section"),
            footnotes=tuple(r.get("footnotes", ())),
            note=r.get("note"),
        )
        for r in d["rows"]
    )
    number = d.get("number")
    attached = d.get("attached_to")
    return Table(
        number=None if number is None else str(number),
        caption=d["caption"],
        unit=d.get("unit"),
        columns=tuple(d["columns"]),
        rows=rows,
        lines=tuple(d["lines"]),
        chapter=chapter,
        footnotes=tuple(Footnote(f["marker"], f["text"], tuple(f["lines"])) for f in d.get("footnotes", ())),
        label_header=d.get("label_header"),
        group_header=d.get("group_header"),
        attached_to=None if attached is None else str(attached),
    )


def render_table_grid(t: Table, width: int = 34) -> str:
    """A plain-text grid for staff to check the parse against the report."""
    s = summarize(t)
    status = "alle rader lest sikkert" if not s.uncertain else f"?? {len(s.uncertain)} usikre rader (se under)"
    out = [
        table_title(t),
        f"  enhet: {t.unit or '-'}   linjer {t.lines[0]}–{t.lines[1]}   kapittel: {t.chapter.display}",
        f"  {s.columns} kolonner, {s.rows} rader, {s.cells} celler: {s.numbers} tall, {s.empty} tomme, "
        f"{s.text} tekst; {status}",
    ]
    if t.group_header:
        out.append(f"  overskrift: {t.group_header}")
    head = [(t.label_header or "")[:width].ljust(width)] + [c[:18].rjust(18) for c in t.columns]
    out.append("  " + " | ".join(head))
    out.append("  " + "-+-".join("-" * len(h) for h in head))
    for r in t.rows:
        note = f"[{r.note}] " if r.note else ""
        label = (("  " if r.section else "") + note + r.label)[:width].ljust(width)
        cells = [(c.raw or "·")[:18].rjust(18) for c in r.cells]
        flag = "  ??" if r.uncertain else ""
        out.append("  " + " | ".join([label, *cells]) + f"   [{r.lines[0]}]" + flag)
    for f in t.footnotes:
        out.append(f"  {f.marker}) {f.text}")
    if s.uncertain:
        out.append("  Usikre rader:")
        out.extend(f"    linje {line}: «{label}»: {reason}" for label, line, reason in s.uncertain)
    return "\n".join(out)

"""Tables as JSON (for `rapport tables --json`, the index and the UI) and as text grids."""

from __future__ import annotations

from typing import Any

from ingest.records import Cell, Chapter, Footnote, Row, Table


def table_to_json(t: Table) -> dict[str, Any]:
    return {
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
    return Table(
        number=d.get("number"),
        caption=d["caption"],
        unit=d.get("unit"),
        columns=tuple(d["columns"]),
        rows=rows,
        lines=tuple(d["lines"]),
        chapter=chapter,
        footnotes=tuple(Footnote(f["marker"], f["text"], tuple(f["lines"])) for f in d.get("footnotes", ())),
        label_header=d.get("label_header"),
        group_header=d.get("group_header"),
        attached_to=d.get("attached_to"),
    )


def render_table_grid(t: Table, width: int = 34) -> str:
    """A plain-text grid for staff to check the parse against the report."""
    title = t.caption if t.number is not None else f"(uten nummer, under tabell {t.attached_to}) {t.caption}"
    out = [f"{title}", f"  enhet: {t.unit or '-'}   linjer {t.lines[0]}–{t.lines[1]}   kapittel: {t.chapter.display}"]
    if t.group_header:
        out.append(f"  overskrift: {t.group_header}")
    head = [(t.label_header or "")[:width].ljust(width)] + [c[:18].rjust(18) for c in t.columns]
    out.append("  " + " | ".join(head))
    out.append("  " + "-+-".join("-" * len(h) for h in head))
    for r in t.rows:
        label = (("  " if r.section else "") + r.label)[:width].ljust(width)
        cells = [(c.raw or "·")[:18].rjust(18) for c in r.cells]
        flag = "  ?? " + (r.reason or "") if r.uncertain else ""
        out.append("  " + " | ".join([label, *cells]) + f"   [{r.lines[0]}]" + flag)
    for f in t.footnotes:
        out.append(f"  {f.marker}) {f.text}")
    return "\n".join(out)

"""A parsed Report as plain JSON and back: how the index carries its reports.

Chapters are written once and referred to by position; tuples become lists. Fields added to
the records later are carried along by name (every record is a dataclass), so an older
reader simply ignores what it does not know and a newer one fills in defaults.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import fields, is_dataclass
from typing import Any

from ingest.records import Cell, Chapter, Footnote, Passage, Report, ReportMeta, Row, Table

FORMAT_VERSION = 1


def _plain(obj: Any, chapters: dict[Chapter, int]) -> Any:
    if isinstance(obj, Chapter):
        return chapters[obj]
    if is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name), chapters) for f in fields(obj)}
    if isinstance(obj, tuple | list):
        return [_plain(x, chapters) for x in obj]
    return obj


def report_to_dict(report: Report) -> dict[str, Any]:
    chapters = {c: i for i, c in enumerate(report.chapters)}
    out: dict[str, Any] = {"format": FORMAT_VERSION}
    for f in fields(report):
        value = getattr(report, f.name)
        if f.name == "chapters":
            out[f.name] = [{"number": c.number, "title": c.title, "lines": list(c.lines)} for c in value]
        else:
            out[f.name] = _plain(value, chapters)
    return out


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(x) for x in value)
    return value


def _build(cls: type, data: dict[str, Any], nested: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            continue
        kwargs[key] = nested[key](value) if key in nested else _tuples(value)
    return cls(**kwargs)


def report_from_dict(data: dict[str, Any]) -> Report:
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"stored report format {data.get('format')!r}, this code reads {FORMAT_VERSION}")
    chapters = tuple(Chapter(c["number"], c["title"], tuple(c["lines"])) for c in data["chapters"])

    def chapter(i: int) -> Chapter:
        return chapters[i]

    def cells(items: list[dict[str, Any]]) -> tuple[Cell, ...]:
        return tuple(_build(Cell, c, {}) for c in items)

    def rows(items: list[dict[str, Any]]) -> tuple[Row, ...]:
        return tuple(_build(Row, r, {"cells": cells}) for r in items)

    def footnotes(items: list[dict[str, Any]]) -> tuple[Footnote, ...]:
        return tuple(_build(Footnote, f, {}) for f in items)

    def tables(items: list[dict[str, Any]]) -> tuple[Table, ...]:
        return tuple(_build(Table, t, {"chapter": chapter, "rows": rows, "footnotes": footnotes}) for t in items)

    def passages(items: list[dict[str, Any]]) -> tuple[Passage, ...]:
        return tuple(_build(Passage, p, {"chapter": chapter}) for p in items)

    def meta(item: dict[str, Any] | None) -> ReportMeta | None:
        return None if item is None else _build(ReportMeta, item, {})

    return _build(
        Report,
        data,
        {"chapters": lambda _: chapters, "tables": tables, "passages": passages, "meta": meta},
    )


def pack_report(report: Report) -> str:
    """The report as compact text for a store that keeps strings (zlib + base64 of the JSON)."""
    raw = json.dumps(report_to_dict(report), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def unpack_report(text: str) -> Report:
    return report_from_dict(json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8")))

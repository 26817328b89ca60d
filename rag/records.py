"""Records produced by the answer engine (the contract for the CLI, UI and eval)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    report: str | None  # report id, e.g. "baerum-2020"
    table: str | None  # table number as printed ("7", "4.7"), None for prose
    row: str | None  # row label for table facts
    column: str | None  # column name for table facts
    chapter: str | None  # chapter display name, e.g. "02 ÅRSBERETNING"
    lines: tuple[int, int]  # 1-based lines of the source file
    quote: str  # the cited source text (row line or sentence), as printed
    page: int | None = None  # printed page, when the source has page markers
    table_index: int | None = None  # position of the table in its report (ids for the UI and follow-ups)
    row_index: int | None = None
    column_index: int | None = None
    report_title: str | None = None
    value_raw: str | None = None  # the cell's printed value (table facts)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["lines"] = list(self.lines)
        return d


@dataclass(frozen=True)
class Alternative:
    """Another reading of the question («Mente du …?»): a precise question that asks for it."""

    question: str
    value: float | None
    value_raw: str | None
    unit: str | None
    citation: Citation
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "value": self.value, "value_raw": self.value_raw, "unit": self.unit,
                "citation": self.citation.to_json(), "confidence": round(self.confidence, 3)}


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    abstained: bool
    value: float | None  # the primary number as printed in the first citation, sign included
    unit: str | None
    citations: tuple[Citation, ...]
    lang: str  # "no" | "en"
    mode: str  # "extractive" | "llm"
    latency_ms: float = 0.0
    value_raw: str | None = None  # the printed form, e.g. "-679,4"
    trace: tuple[str, ...] = field(default_factory=tuple)  # how the answer was reached
    alternatives: tuple[Alternative, ...] = ()
    confidence: float | None = None  # the engine's probability that the answer is right
    report: str | None = None  # the report the answer comes from
    details: tuple[str, ...] = ()  # the computation, the other figure, notes: for «Slik ble svaret funnet»
    kind: str | None = None  # cell | diff | figure | sentence | lead | None (abstained or a message)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "value": self.value,
            "unit": self.unit,
            "citations": [c.to_json() for c in self.citations],
            "lang": self.lang,
            "mode": self.mode,
            "latency_ms": round(self.latency_ms, 2),
            "value_raw": self.value_raw,
            "alternatives": [a.to_json() for a in self.alternatives],
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "report": self.report,
            "details": list(self.details),
            "kind": self.kind,
            "trace": list(self.trace),
        }

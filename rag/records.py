"""Records produced by the answer chain (the contract for the CLI, UI and eval)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    table: int | None  # table number, None for prose
    row: str | None  # row label for table facts
    column: str | None  # column name for table facts
    chapter: str | None  # chapter display name, e.g. "02 ÅRSBERETNING"
    lines: tuple[int, int]  # 1-based lines of the source file
    quote: str  # the cited source text (row line or sentence), as printed

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["lines"] = list(self.lines)
        return d


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
            "trace": list(self.trace),
        }

"""Test doubles shared by the engine tests: a ranker whose scores follow plain rules and whose
confidence the test sets, and a service over the invented report (no model, no vectors)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fakereport import fake_report_text
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ingest.parse import parse_report
from ingest.pipeline import with_meta
from rag.layout import F
from rag.service import Service, service_from_reports
from rapport.settings import Settings


@dataclass
class FakeRanker:
    """Scores: coverage of the question's words, matching years and column intents; cells
    before prose, accounts before budgets. Confidence: fixed by the test."""

    confidence_value: float = 0.9
    thresholds: dict[str, float] = field(default_factory=lambda: {"number": 0.5, "sentence": 0.5, "passage": 0.5})
    sure: float = 0.8

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (X[:, F["cov_all"]] + X[:, F["year_match"]] + 0.5 * X[:, F["year_latest"]]
                + 0.5 * X[:, F["intent_match"]] + 0.3 * X[:, F["k_cell"]] + 0.2 * X[:, F["col_actual"]]
                - 2 * X[:, F["year_other"]] * (X[:, F["q_n_years"]] > 0))

    def confidence(self, row: np.ndarray) -> float:
        return self.confidence_value


def fake_report(year: int = 2020, scale: float = 1.0, municipality: str = "Eksempel") -> Any:
    return with_meta(parse_report(fake_report_text(year, scale, municipality), f"{municipality.lower()}-{year}.txt"))


def fake_service(settings: Settings | None = None, llm_writer: Any = None, ranker: Any = None) -> Service:
    return service_from_reports(settings or Settings(), [fake_report()], ranker=ranker or FakeRanker(),
                                llm_writer=llm_writer)


class StreamingFake(BaseChatModel):
    """Yields `pieces` one by one (after `first_delay_s`, then `delay_s` apart) and ends with
    `finish_reason`; records how many pieces were pulled and the stop sequences it got."""

    pieces: list[str]
    first_delay_s: float = 0.0
    delay_s: float = 0.0
    finish_reason: str | None = "stop"
    pulled: list[int] = []
    stops: list[Any] = []

    @property
    def _llm_type(self) -> str:
        return "streaming-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        meta = {"finish_reason": self.finish_reason} if self.finish_reason else {}
        return ChatResult(
            generations=[
                ChatGeneration(message=AIMessage(content="".join(self.pieces), response_metadata=meta))
            ]
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self.stops.append(stop)
        time.sleep(self.first_delay_s)
        for i, piece in enumerate(self.pieces):
            if i:
                time.sleep(self.delay_s)
            self.pulled.append(i)
            last = i == len(self.pieces) - 1
            info = {"finish_reason": self.finish_reason} if last and self.finish_reason else None
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece), generation_info=info)

"""Test doubles shared by the engine tests: a ranker whose scores follow plain rules and whose
confidence the test sets, and a service over the invented report (no model, no vectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from fakereport import fake_report_text

from ingest.parse import parse_report
from ingest.pipeline import with_meta
from rag.features import F
from rag.service import Service, service_from_reports
from rapport.settings import Settings


@dataclass
class FakeRanker:
    """Scores: coverage of the question's words, matching years and column intents; cells
    before prose, accounts before budgets. Confidence: fixed by the test."""

    confidence_value: float = 0.9
    threshold: float = 0.5

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

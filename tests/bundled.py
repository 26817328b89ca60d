"""The question most tests ask the bundled report, «Hva var netto driftsresultat i 2020?»: the net
operating result, which the report prints as -679,4 in its tables and rounds to «679 millioner
kroner» in its text. Which printing the engine answers with is the trained ranker's choice (with
the tests' hash embedding it ranks without dense features), and both are right, so a test that
needs "the real question still gets its answer" checks this, not one candidate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NET_RESULT_Q = "Hva var netto driftsresultat i 2020?"
NET_RESULT_PRINTED = ("-679,4", "679")


def is_net_result(value: object) -> bool:
    return same_figure(value, -679.4)


def answers_net_result(reply: Mapping[str, Any]) -> bool:
    """A JSON answer (`ask --json`, the /ask API) with the net result, its printing in a citation."""
    raw = reply.get("value_raw")
    return (is_net_result(reply.get("value")) and raw in NET_RESULT_PRINTED
            and any(raw in (c.get("quote") or "") for c in reply.get("citations") or ()))


def same_figure(value: object, expected: float) -> bool:
    """The expected figure as the table prints it or as the text rounds it (sign aside: the
    report prints results as negative numbers in its tables, positive in its text)."""
    return isinstance(value, int | float) and abs(abs(float(value)) - abs(expected)) < 0.5

"""Scoring: plain functions over (eval item, answer JSON), and the summary over many items.

An eval item is one line of ``eval/eval_set.jsonl`` (a dict); an answer is ``Answer.to_json()``
(a dict). A metric returns True / False, or None when it does not apply to the item (a prose
item has no table to cite; an unanswerable item has no number). Summaries count only the items
a metric applies to, so every rate has an explicit denominator (``n`` next to it).

Numbers are always compared as floats. Numbers given as strings are parsed the Norwegian way
("1 878,6", "−679,4", "7,02 %") before any comparison, never compared as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ingest.numbers import parse_no_number

TOLERANCE = 0.05  # absolute; the report prints at most 1-2 decimals
_EPS = 1e-9  # float noise: 679.45 - 679.4 is 0.05000000000001137
RECALL_KS = (4, 8)
KINDS = ("table_cell", "table_compare", "prose_number", "non_numeric", "overview", "unanswerable")

_MINUS = "-\u2212\u2013"  # hyphen-minus, minus sign, en dash (PDF text uses all three)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUMBER_RE = re.compile(rf"^([{_MINUS}+]?)(\d+(?:[.,]\d+)?)$")


# --------------------------------------------------------------------------- numbers


def parse_number(value: Any) -> float | None:
    """A number as a float: ints and floats as they are, strings parsed Norwegian style.

    "1 878,6" -> 1878.6, "−679,4" -> -679.4, "7,02 %" -> 7.02, "12 529" -> 12529.0.
    Booleans, NaN, empty or non-numeric strings give None. A string with both "." and ","
    is ambiguous and gives None (the report never prints one).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) else number
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", value).strip().rstrip("%").strip()
    if "." in text and "," in text or not _NUMBER_RE.match(text.replace(" ", "")):
        return None
    return parse_no_number(text.replace(".", ","))


def close(a: float, b: float, tolerance: float = TOLERANCE) -> bool:
    """|a - b| <= tolerance (inclusive, up to float noise)."""
    return abs(a - b) <= tolerance + _EPS


# --------------------------------------------------------------------------- per item metrics


def is_answerable(item: Mapping[str, Any]) -> bool:
    return item.get("kind") != "unanswerable"


def abstained(answer: Mapping[str, Any]) -> bool:
    return bool(answer.get("abstained"))


def answer_value(answer: Mapping[str, Any]) -> float | None:
    """The answer's primary number as a float (None when there is none)."""
    return parse_number(answer.get("value"))


def numeric_correct(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool | None:
    """Is the answer's value the expected number? None for items without ``answer_number``.

    Correct when ``value`` is within 0.05 of ``answer_number``, or of any of ``alt_numbers``
    (other printed forms, e.g. a rounded figure in the prose). With ``abs_ok`` the sign does
    not count (the report prints income as negative numbers): magnitudes are compared, for the
    alternatives too. An abstention or an answer without a value is wrong.
    """
    expected = parse_number(item.get("answer_number"))
    if expected is None:
        return None
    got = answer_value(answer)
    if got is None or abstained(answer):
        return False
    targets = [expected] + [t for t in (parse_number(a) for a in item.get("alt_numbers") or ()) if t is not None]
    if item.get("abs_ok"):
        return any(close(abs(got), abs(t)) for t in targets)
    return any(close(got, t) for t in targets)


def numeric_or_offered(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool | None:
    """Is the expected number the answer's value or the value of one of its «Mente du …?»
    alternatives (one click away)? None for items without ``answer_number``. An abstention that
    offers the right number counts: that is what asking back is for."""
    answered = numeric_correct(item, answer)
    if answered is None or answered:
        return answered
    alternatives = [a for a in answer.get("alternatives") or () if isinstance(a, Mapping)]
    return any(numeric_correct(item, {"value": a.get("value")}) for a in alternatives)


def _table_id(value: Any) -> str | None:
    """A table id as printed ("7", "4.7"); numbers from older files (7, 7.0) read the same."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def first_citation_table(answer: Mapping[str, Any]) -> str | None:
    citations = answer.get("citations") or []
    if not citations:
        return None
    return _table_id(citations[0].get("table")) if isinstance(citations[0], Mapping) else None


def table_correct(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool | None:
    """Does the first citation name the item's table? None for items without a table, and for
    items the answer got right from a sentence that prints the same figure (the report states
    many table figures in its text as well)."""
    expected = _table_id(item.get("table"))
    if expected is None:
        return None
    got = first_citation_table(answer)
    return got is not None and got == expected


def abstention_correct(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    """Unanswerable: the answer abstained and gives no value. Answerable: it did not abstain."""
    if is_answerable(item):
        return not abstained(answer)
    return abstained(answer) and answer_value(answer) is None


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).casefold().strip()


def must_contain_ok(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool | None:
    """For non_numeric items: every ``must_contain`` string occurs in the answer text
    (case-insensitive; runs of whitespace, no-break spaces included, count as one space)."""
    needles = item.get("must_contain")
    if item.get("kind") != "non_numeric" or not needles:
        return None
    text = _fold(str(answer.get("answer") or ""))
    return all(_fold(str(n)) in text for n in needles)


def overview_ok(item: Mapping[str, Any], answer: Mapping[str, Any]) -> bool | None:
    """For overview items: the answer (not an abstention) cites a passage that overlaps the
    item's line_range."""
    if item.get("kind") != "overview":
        return None
    rng = item.get("line_range") or [item.get("line"), item.get("line")]
    if abstained(answer) or None in rng:
        return False
    for c in answer.get("citations") or []:
        span = _span(c.get("lines") if isinstance(c, Mapping) else None)
        if span is not None and span[0] <= int(rng[1]) and span[1] >= int(rng[0]):
            return True
    return False


def _span(span: Any) -> tuple[int, int] | None:
    """(first, last) from a [first, last] pair or an object with ``.lines``."""
    lines = getattr(span, "lines", span)
    try:
        first, last = lines
        return int(first), int(last)
    except (TypeError, ValueError):
        return None


def recall_at_k(item: Mapping[str, Any], retrieved: Sequence[Any], k: int) -> bool | None:
    """Does the item's source ``line`` fall within (inclusive) the line range of one of the
    first k retrieved chunks? None for unanswerable items and items without a line."""
    line = item.get("line")
    if not is_answerable(item) or line is None or isinstance(line, bool):
        return None
    for raw in list(retrieved)[:k]:
        span = _span(raw)
        if span is not None and span[0] <= int(line) <= span[1]:
            return True
    return False


def score_item(
    item: Mapping[str, Any], answer: Mapping[str, Any], retrieved: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Every verdict for one item. ``passed``: all that apply of numeric, table, must_contain
    and abstention are True (retrieval is reported but does not decide ``passed``)."""
    verdicts: dict[str, Any] = {
        "numeric": numeric_correct(item, answer),
        "numeric_or_offered": numeric_or_offered(item, answer),
        "table": table_correct(item, answer),
        "abstention": abstention_correct(item, answer),
        "abstained": abstained(answer),
        "must_contain": must_contain_ok(item, answer),
        "overview": overview_ok(item, answer),
    }
    for k in RECALL_KS:
        verdicts[f"recall@{k}"] = recall_at_k(item, retrieved, k) if retrieved is not None else None
    verdicts["passed"] = all(
        verdicts[key] is not False for key in ("numeric", "table", "must_contain", "overview", "abstention")
    )
    return verdicts


# --------------------------------------------------------------------------- summaries


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default; None if empty."""
    data = sorted(float(v) for v in values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _rate(flags: Iterable[bool | None]) -> tuple[float | None, int]:
    counted = [f for f in flags if f is not None]
    return (sum(counted) / len(counted) if counted else None), len(counted)


def summarize(rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, Any]:
    """Metrics over (item, answer, verdicts) triples.

    Rates are fractions in 0..1 (None when nothing is counted), each with its denominator:
    numeric_accuracy (items with a number), numeric_or_offered (the same items: the number is the
    answer's or one of its «Mente du …?» alternatives'), table_accuracy (items with a table),
    abstention_precision (correct abstentions / all abstentions), abstention_recall (correct
    abstentions / unanswerable items), answer_rate (not abstained / answerable items),
    must_contain_rate (non_numeric items), recall@4 / recall@8 (answerable items with a line),
    passed (all applicable answer verdicts), latency p50/p95 in ms.
    """
    out: dict[str, Any] = {"n": len(rows)}
    for key, metric in (
        ("numeric_accuracy", "numeric"),
        ("numeric_or_offered", "numeric_or_offered"),
        ("table_accuracy", "table"),
        ("must_contain_rate", "must_contain"),
        ("overview_rate", "overview"),
        *((f"recall@{k}", f"recall@{k}") for k in RECALL_KS),
        ("passed", "passed"),
    ):
        out[key], out[f"{key}_n"] = _rate(v.get(metric) for _, _, v in rows)
    out["errors"] = sum(1 for _, _, v in rows if v.get("error"))
    n_abstained = sum(1 for _, a, _ in rows if abstained(a))
    unanswerable = [(i, a, v) for i, a, v in rows if not is_answerable(i)]
    correct_abst = sum(1 for _, _, v in unanswerable if v["abstention"])
    out["abstained"] = n_abstained
    out["unanswerable_n"] = len(unanswerable)
    out["abstention_precision"] = correct_abst / n_abstained if n_abstained else None
    out["abstention_recall"] = correct_abst / len(unanswerable) if unanswerable else None
    out["answer_rate"], out["answer_rate_n"] = _rate(not abstained(a) for i, a, _ in rows if is_answerable(i))
    latencies = [float(a["latency_ms"]) for _, a, _ in rows if parse_number(a.get("latency_ms")) is not None]
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    return out


def summarize_all(
    rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, Any]:
    """Overall, per kind, per table (items that name one) and per language."""
    by_kind: dict[str, list] = {}
    by_table: dict[str, list] = {}
    by_lang: dict[str, list] = {}
    for row in rows:
        item = row[0]
        by_kind.setdefault(str(item.get("kind")), []).append(row)
        table = _table_id(item.get("table"))
        if table is not None:
            by_table.setdefault(table, []).append(row)
        by_lang.setdefault(str(item.get("lang") or "?"), []).append(row)
    return {
        "overall": summarize(rows),
        "by_kind": {k: summarize(v) for k, v in sorted(by_kind.items(), key=lambda kv: _kind_order(kv[0]))},
        "by_table": {t: summarize(v) for t, v in sorted(by_table.items(), key=lambda kv: _table_order(kv[0]))},
        "by_lang": {lang: summarize(v) for lang, v in sorted(by_lang.items())},
    }


def _table_order(table: str) -> tuple[float, ...]:
    parts = [float(p) if p.replace(".", "").isdigit() else 1e9 for p in table.split(".")]
    return tuple(parts)


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)

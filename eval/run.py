"""`rapport eval`: run an eval set through the answer service, score it, print and save a report.

    run_eval(settings, eval_file=None, out=None, baseline=True, echo=print) -> report dict

The report is ``{"summary": {...}, "items": [...]}``; ``summary`` holds ``overall``,
``by_kind``, ``by_table``, ``by_lang`` (see eval.scorer.summarize) and, with ``baseline``,
the naive LangChain baseline's recall with the ratio ours / baseline.
"""

from __future__ import annotations

import importlib.resources
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from eval.scorer import KINDS, RECALL_KS, parse_number, score_item, summarize_all
from rapport.settings import Settings

REQUIRED_KEYS = ("id", "question", "kind", "answer_number", "table", "line")
# ids of the kinds the eval knows: a file may carry extra keys (note, line_range, ...)
SPLITS = ("train", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10", "dev11", "dev12", "dev13", "dev14", "test", "test2", "test3", "test4")  # eval/splits/<name>.jsonl; test..test4 are frozen (eval/splits/README.md)


class EvalError(Exception):
    """The eval cannot run; the message says why (bad file, no index, ...)."""


class EvalService(Protocol):
    """What the eval needs from the answer service (rag.service.Service satisfies it)."""

    def ask(self, question: str, history: list | None = None) -> Any: ...

    def retrieve(self, question: str, k: int = 8) -> Sequence[Any]: ...


# --------------------------------------------------------------------------- the eval file


def split_file(name: str = "dev") -> Path:
    """Path of a labeled split shipped in the eval package (train, dev, test)."""
    if name not in SPLITS:
        raise EvalError(f"No split {name!r}; the splits are {', '.join(SPLITS)}.")
    try:
        path = Path(str(importlib.resources.files("eval").joinpath("splits", f"{name}.jsonl")))
        if path.is_file():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent / "splits" / f"{name}.jsonl"


def default_eval_file() -> Path:
    """The dev split: what `rapport eval` runs when no file is given."""
    return split_file("dev")


def load_eval_set(path: Path | str) -> list[dict[str, Any]]:
    """Read and check an eval JSONL file; EvalError names the file, line and problem."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"Eval file not found: {path}" + (" (it is a directory)" if path.is_dir() else ""))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"Cannot read eval file {path}: {exc}") from None
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}, line {n}"
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}).") from None
        if not isinstance(item, dict):
            raise EvalError(f"{where}: expected a JSON object, got {type(item).__name__}.")
        missing = [k for k in REQUIRED_KEYS if k not in item]
        if missing:
            raise EvalError(f"{where}: missing key(s) {', '.join(missing)} (item {item.get('id', '?')!r}).")
        _check_item(item, where)
        iid = str(item["id"])
        if iid in seen:
            raise EvalError(f"{where}: duplicate id {iid!r} (first on line {seen[iid]}).")
        seen[iid] = n
        items.append(item)
    if not items:
        raise EvalError(f"Eval file {path} holds no items.")
    return items


def _check_item(item: Mapping[str, Any], where: str) -> None:
    iid = item.get("id")
    if not isinstance(iid, str | int) or isinstance(iid, bool) or str(iid) == "":
        raise EvalError(f"{where}: id must be a non-empty string.")
    if not isinstance(item["question"], str) or not item["question"].strip():
        raise EvalError(f"{where} ({iid}): question must be a non-empty string.")
    if item["kind"] not in KINDS:
        raise EvalError(f"{where} ({iid}): kind {item['kind']!r} is not one of {', '.join(KINDS)}.")
    for key in ("answer_number", "line"):
        value = item[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise EvalError(f"{where} ({iid}): {key} must be a JSON number or null, got {value!r}.")
    table = item["table"]
    if table is not None and (isinstance(table, bool) or not isinstance(table, int | float | str)):
        raise EvalError(f"{where} ({iid}): table must be a table number (\"7\", \"4.7\") or null, got {table!r}.")
    alts = item.get("alt_numbers")
    if alts is not None and (not isinstance(alts, list) or any(parse_number(a) is None for a in alts)):
        raise EvalError(f"{where} ({iid}): alt_numbers must be a list of numbers.")
    must = item.get("must_contain")
    if must is not None and (not isinstance(must, list) or not all(isinstance(s, str) and s for s in must)):
        raise EvalError(f"{where} ({iid}): must_contain must be a list of non-empty strings.")
    if item["kind"] == "unanswerable" and item["answer_number"] is not None:
        raise EvalError(f"{where} ({iid}): an unanswerable item cannot have an answer_number.")


def ci_subset(items: Sequence[Mapping[str, Any]], every: int = 4) -> list[Mapping[str, Any]]:
    """The fixed CI subset of the dev split (tests/test_eval_guard.py): every ``every``-th item of
    each kind, in file order, starting with the first. A rule over positions, never over results."""
    seen: dict[str, int] = {}
    chosen = []
    for item in items:
        kind = str(item.get("kind"))
        if seen.get(kind, 0) % every == 0:
            chosen.append(item)
        seen[kind] = seen.get(kind, 0) + 1
    return chosen


# --------------------------------------------------------------------------- the service


def open_service(settings: Settings, echo: Callable[[str], Any] = print) -> EvalService:
    """The real service (building the bundled report's index into an empty data dir first)."""
    from rag.service import ServiceError, build_service

    try:
        return build_service(settings, ingest_missing=True)
    except ServiceError as exc:
        raise EvalError(str(exc)) from None


def _answer_json(answer: Any) -> dict[str, Any]:
    return answer.to_json() if hasattr(answer, "to_json") else dict(answer)


def service_error(answer: Mapping[str, Any]) -> bool:
    """Was this answer an internal failure (a raised call, or the service's "something went
    wrong" message, which it returns as an abstention) rather than a real answer?"""
    return bool(answer.get("error")) or "input: error" in (answer.get("trace") or ())


def _spans(chunks: Sequence[Any]) -> list[list[int]]:
    spans = []
    for c in chunks:
        first, last = getattr(c, "lines", c)
        spans.append([int(first), int(last)])
    return spans


def run_items(
    service: EvalService, items: Sequence[Mapping[str, Any]], echo: Callable[[str], Any] = print
) -> list[dict[str, Any]]:
    """Ask and retrieve every item; score it. A failing call is recorded as a wrong answer."""
    k = max(RECALL_KS)
    results = []
    for n, item in enumerate(items, start=1):
        question = str(item["question"])
        t0 = time.perf_counter()
        try:
            answer = _answer_json(service.ask(question))
        except Exception as exc:  # one broken item must not end the run
            answer = {"question": question, "answer": "", "abstained": False, "value": None, "citations": [],
                      "latency_ms": (time.perf_counter() - t0) * 1000.0, "error": f"{type(exc).__name__}: {exc}"}
        try:
            retrieved = _spans(service.retrieve(question, k))
        except Exception as exc:
            retrieved = []
            answer.setdefault("error", f"retrieve: {type(exc).__name__}: {exc}")
        verdicts = score_item(item, answer, retrieved)
        verdicts["error"] = service_error(answer)
        results.append({"id": item["id"], "item": dict(item), "answer": answer, "retrieved": retrieved, "verdicts": verdicts})
        if n % 25 == 0 and n < len(items):
            echo(f"  {n}/{len(items)} questions")
    return results


# --------------------------------------------------------------------------- the run


def run_eval(
    settings: Settings,
    eval_file: Path | str | None = None,
    out: Path | str | None = None,
    baseline: bool = True,
    echo: Callable[[str], Any] = print,
    *,
    service: EvalService | None = None,
) -> dict[str, Any]:
    """Run, score, print and (with ``out``) save the eval; return the report dict.

    ``service`` replaces the real one (tests); by default rag.service.build_service is used,
    building the index first when there is none.
    """
    path = Path(eval_file) if eval_file is not None else default_eval_file()
    items = load_eval_set(path)
    echo(f"Eval set {path}: {len(items)} items.")
    if service is None:
        service = open_service(settings, echo)
    t0 = time.perf_counter()
    results = run_items(service, items, echo)
    seconds = time.perf_counter() - t0
    rows = [(r["item"], r["answer"], r["verdicts"]) for r in results]
    summary: dict[str, Any] = summarize_all(rows)
    summary["meta"] = {
        "eval_file": str(path),
        "items": len(items),
        "embedding": settings.embedding,
        "mode": settings.mode,
        "seconds": round(seconds, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    summary["retrieved_mean_span_lines"] = _mean_span(results, 4)
    if baseline:
        summary["baseline"] = _baseline(settings, items, summary, results, echo)
    report = {"summary": summary, "items": results}
    echo(format_report(report))
    if out is not None:
        out_path = Path(out)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            raise EvalError(f"Cannot write the report to {out_path}: {exc.strerror or exc}") from None
        echo(f"Report written to {out_path}")
    return report


def _mean_span(results: Sequence[Mapping[str, Any]], k: int) -> float | None:
    sizes = [last - first + 1 for r in results for first, last in r["retrieved"][:k]]
    return round(sum(sizes) / len(sizes), 2) if sizes else None


def _baseline(
    settings: Settings,
    items: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    echo: Callable[[str], Any],
) -> dict[str, Any]:
    from eval.baseline import baseline_recall

    try:
        base = baseline_recall(settings, items, echo)
    except Exception as exc:  # the baseline is a comparison, not the product: report, go on
        echo(f"Baseline skipped: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    retrieved = base.pop("retrieved")
    for r in results:
        r["baseline_retrieved"] = retrieved.get(str(r["id"]), [])
    ours = summary["overall"]
    for k in RECALL_KS:
        key = f"recall@{k}"
        base[f"ours_{key}"] = ours.get(key)
        b = base.get(key)
        base[f"ratio_{key}"] = round(ours[key] / b, 3) if ours.get(key) is not None and b else None
    return base


# --------------------------------------------------------------------------- printing


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


_COLUMNS = (
    ("n", "n", lambda s: str(s["n"])),
    ("numeric", "numeric_accuracy", None),
    ("or offered", "numeric_or_offered", None),
    ("table", "table_accuracy", None),
    ("answered", "answer_rate", None),
    ("abst.P", "abstention_precision", None),
    ("abst.R", "abstention_recall", None),
    ("must", "must_contain_rate", None),
    ("R@4", "recall@4", None),
    ("R@8", "recall@8", None),
    ("p50 ms", "latency_p50_ms", lambda s: _ms(s["latency_p50_ms"])),
    ("p95 ms", "latency_p95_ms", lambda s: _ms(s["latency_p95_ms"])),
)


def _table(title: str, groups: Mapping[str, Mapping[str, Any]]) -> list[str]:
    width = max([len(title), *(len(g) for g in groups)])
    head = f"{title:<{width}} " + " ".join(f"{c[0]:>7}" for c in _COLUMNS)
    lines = [head, "-" * len(head)]
    for name, s in groups.items():
        cells = [fmt(s) if fmt else _pct(s.get(key)) for _, key, fmt in _COLUMNS]
        lines.append(f"{name:<{width}} " + " ".join(f"{c:>7}" for c in cells))
    return lines


def _got(answer: Mapping[str, Any]) -> str:
    if answer.get("error"):
        return f"ERROR {answer['error']}"
    if answer.get("abstained"):
        return "abstained"
    cites = answer.get("citations") or []
    table = cites[0].get("table") if cites else None
    where = f" [tabell {table}]" if table is not None else (" [prose]" if cites else " [no citation]")
    text = " ".join(str(answer.get("answer") or "").split())
    text = text if len(text) <= 90 else text[:87] + "..."
    return f"{answer.get('value')!s} {answer.get('unit') or ''}".strip() + where + f" «{text}»"


def _expected(item: Mapping[str, Any]) -> str:
    kind = item.get("kind")
    if kind == "unanswerable":
        return "abstain"
    if kind == "non_numeric":
        return "text with " + " + ".join(repr(s) for s in item.get("must_contain") or [])
    if kind == "overview":
        return f"a summary from lines {item.get('line_range')}"
    alts = item.get("alt_numbers")
    number = f"{item.get('answer_number')} {item.get('unit') or ''}".strip()
    number += f" (or {', '.join(str(a) for a in alts)})" if alts else ""
    number += " (sign free)" if item.get("abs_ok") else ""
    return number + (f" [tabell {item['table']}]" if item.get("table") is not None else "")


def format_report(report: Mapping[str, Any], max_failures: int = 200) -> str:
    """The summary tables (overall, per kind, per language, per table), the baseline and the
    failures, as plain text."""
    s = report["summary"]
    lines = [""]
    lines += _table("overall", {"all": s["overall"]})
    lines.append("")
    lines += _table("kind", s["by_kind"])
    lines.append("")
    lines += _table("lang", s["by_lang"])
    lines.append("")
    lines += _table("table", {f"tabell {t}": v for t, v in s["by_table"].items()})
    base = s.get("baseline")
    if base:
        lines.append("")
        if base.get("error"):
            lines.append(f"Naive baseline: not run ({base['error']})")
        else:
            lines.append(
                f"Naive baseline ({base['pipeline']}, {base['embedding']}, {base['chunks']} chunks of "
                f"~{base['mean_chunk_lines']:.0f} lines; ours retrieves chunks of ~{_num(s.get('retrieved_mean_span_lines'))} lines):"
            )
            for k in RECALL_KS:
                ratio = base.get(f"ratio_recall@{k}")
                lines.append(
                    f"  recall@{k}: ours {_pct(base.get(f'ours_recall@{k}'))}  baseline {_pct(base.get(f'recall@{k}'))}"
                    f"  ratio {'–' if ratio is None else f'{ratio:.2f}x'}  (n={base.get(f'recall@{k}_n')})"
                )
    failures = [r for r in report["items"] if not r["verdicts"]["passed"]]
    lines.append("")
    lines.append(f"Failures: {len(failures)} of {len(report['items'])}")
    for r in failures[:max_failures]:
        item = r["item"]
        why = [k for k in ("numeric", "table", "must_contain", "overview", "abstention") if r["verdicts"].get(k) is False]
        lines.append(f"- {r['id']} ({item.get('kind')}, {', '.join(why)}): {item.get('question')}")
        lines.append(f"    expected: {_expected(item)}")
        lines.append(f"    got:      {_got(r['answer'])}")
    if len(failures) > max_failures:
        lines.append(f"  ... and {len(failures) - max_failures} more (see the JSON report)")
    o = s["overall"]
    if o.get("errors"):
        lines.append("")
        lines.append(f"WARNING: {o['errors']} of {o['n']} answers were internal errors of the service (see the log above).")
    lines.append("")
    lines.append(
        f"Overall: numeric {_pct(o['numeric_accuracy'])} (n={o['numeric_accuracy_n']}; with the «Mente du …?» "
        f"alternatives {_pct(o['numeric_or_offered'])}), table citation "
        f"{_pct(o['table_accuracy'])}, abstention P/R {_pct(o['abstention_precision'])}/{_pct(o['abstention_recall'])}, "
        f"recall@4 {_pct(o['recall@4'])}, passed {_pct(o['passed'])}, p50 {_ms(o['latency_p50_ms'])} ms."
    )
    return "\n".join(lines)


_SIDE = (("numeric", "numeric_accuracy"), ("or offered", "numeric_or_offered"), ("answered", "answer_rate"),
         ("abst.R", "abstention_recall"), ("abst.P", "abstention_precision"), ("table", "table_accuracy"),
         ("must", "must_contain_rate"), ("overview", "overview_rate"), ("passed", "passed"))


def format_side_by_side(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """Overall figures of several eval sets, one row each, and per kind below."""
    names = list(summaries)
    width = max(8, *(len(n) for n in names))
    head = f"{'set':<{width}} " + " ".join(f"{c:>9}" for c, _ in _SIDE) + f" {'n':>5}"
    lines = ["", head, "-" * len(head)]
    for name in names:
        o = summaries[name]["overall"]
        lines.append(f"{name:<{width}} " + " ".join(f"{_pct(o.get(k)):>9}" for _, k in _SIDE) + f" {o['n']:>5}")
    lines.append("")
    lines.append("numeric accuracy by kind: " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {_pct(v.get('numeric_accuracy'))}" for k, v in summaries[name]["by_kind"].items()
                                if v.get("numeric_accuracy") is not None)
        for name in names))
    return "\n".join(lines)

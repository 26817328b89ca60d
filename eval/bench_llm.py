"""`rapport bench --llm`: LLM mode timings (time to first guarded token, total) and how often the
model's answer was kept or fell back to the extractive one, and why."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from eval.scorer import percentile
from rapport.settings import Settings


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def llm_outcome(trace: tuple[str, ...] | list[str]) -> tuple[str, str | None]:
    """("written" | "fallback" | "not_used" | "failed", short fallback reason) from an answer's trace."""
    steps = [t for t in trace if t.startswith("llm")]
    last = steps[-1] if steps else ""
    if last.startswith("llm: answer written"):
        return "written", None
    if last.startswith("llm: not used"):
        return "not_used", None
    if last.startswith("llm: failed"):
        return "failed", None
    reasons = (
        ("not in the cited sources", "number not in the sources"),
        ("fact(s) were given", "cites a missing fact"),
        ("is missing", "answer's value missing"),
        ("token limit", "cut off (finish_reason length)"),
        ("repeats the prompt", "echoes the prompt"),
        ("repeats the question", "echoes the question"),
        ("not a sentence", "not a sentence"),
        ("wrong language", "wrong language"),
        ("too long", "too long"),
        ("empty reply", "empty reply"),
        ("does not name what the number is", "does not name the row"),
    )
    return "fallback", next((short for key, short in reasons if key in last), last[:60] or "no llm step")


def measure_llm(settings: Settings, questions: list[str], warmup: int = 2) -> dict[str, Any]:
    """LLM mode over `questions` through ``Service.stream``: time to first token (the first
    *guarded* text piece the UI could show, see rag.llm), time to the first text of any kind
    (a guarded piece, or the final answer when nothing was streamed), total time to the final
    answer, and how many answers the model wrote (passed the guard) vs fell back to extractive."""
    if not (settings.llm_base_url or settings.llm_gguf):
        return {"skipped": "no LLM configured (set RAPPORT_LLM_BASE_URL or RAPPORT_LLM_GGUF, or --llm-gguf)"}
    from rag.service import ServiceError, build_service

    t0 = time.perf_counter()
    try:
        service = build_service(replace(settings, mode="llm"))
    except (ServiceError, ImportError, ValueError) as exc:
        return {"skipped": f"LLM mode unavailable: {exc}"}
    build_s = time.perf_counter() - t0
    try:
        figures = stream_timings(service, questions, warmup)
    finally:
        server = getattr(service, "_local_llm", None)
        if server is not None:
            server.stop()
    return {
        "model": str(settings.llm_gguf) if not settings.llm_base_url else settings.llm_model,
        "max_tokens": settings.llm_max_tokens,
        "service_build_s": round(build_s, 2),
        **figures,
    }


def stream_timings(service: Any, questions: list[str], warmup: int = 2) -> dict[str, Any]:
    """Stream each question through ``service.stream`` and time it (see `measure_llm`)."""
    for q in questions[:warmup]:
        for _ in service.stream(q):
            pass
    first_token, first_text, total = [], [], []
    outcomes: dict[str, int] = {"written": 0, "fallback": 0, "not_used": 0, "failed": 0}
    reasons: dict[str, int] = {}
    replaced = 0
    for q in questions:
        t0 = time.perf_counter()
        first = None
        final = None
        for event in service.stream(q):
            if event.kind == "delta" and first is None:
                first = (time.perf_counter() - t0) * 1000.0
            elif event.kind == "final":
                final = event
        ms = (time.perf_counter() - t0) * 1000.0
        total.append(ms)
        first_text.append(first if first is not None else ms)
        if first is not None:
            first_token.append(first)
        kind, why = llm_outcome(final.answer.trace if final is not None and final.answer is not None else ())
        outcomes[kind] += 1
        if why:
            reasons[why] = reasons.get(why, 0) + 1
        replaced += bool(final is not None and final.replaces)
    return {
        "questions": len(questions),
        "warmup": min(warmup, len(questions)),
        "first_token_p50_ms": _round(percentile(first_token, 50)),
        "first_token_p95_ms": _round(percentile(first_token, 95)),
        "streamed": len(first_token),
        "first_text_p50_ms": _round(percentile(first_text, 50)),
        "first_text_p95_ms": _round(percentile(first_text, 95)),
        "total_p50_ms": _round(percentile(total, 50)),
        "total_p95_ms": _round(percentile(total, 95)),
        "outcomes": outcomes,
        "fallback_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "replaced_after_streaming": replaced,
    }


def format_llm(llm: dict[str, Any]) -> str:
    o = llm["outcomes"]
    why = ", ".join(f"{k} {v}" for k, v in llm["fallback_reasons"].items())
    return (
        f"{llm['model']}, {llm['questions']} questions ({llm['warmup']} warm-up): "
        f"first token p50 {llm['first_token_p50_ms']} ms, p95 {llm['first_token_p95_ms']} ms "
        f"({llm['streamed']} streamed); total p50 {llm['total_p50_ms']} ms, p95 {llm['total_p95_ms']} ms; "
        f"model answer kept {o['written']}, fell back {o['fallback']}"
        + (f" ({why})" if why else "")
        + f", not used {o['not_used']}, failed {o['failed']}; replaced after streaming {llm['replaced_after_streaming']}"
    )

"""`rapport bench`: cold ingest time, index size, answer latency, peak memory, app start time.

Everything runs on a fresh temporary data dir (no index, no embedding cache), so the figures
do not depend on what ``settings.data_dir`` holds; only the embedding model and the answer
settings are taken from ``settings``. Writes the figures as JSON with the machine info.

``--llm`` adds LLM mode over the first 20 latency questions (`measure_llm`): time to first
(guarded) token and total, p50/p95, next to the default-mode latency, and how many answers the
model wrote vs fell back to the extractive answer (and why).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.scorer import percentile
from rapport.settings import Settings

WARMUP = 5
LATENCY_EVERY = 4  # every 4th eval question: 61 of 241


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(AttributeError, OSError):
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except Exception:  # torch is optional for the figures
        pass
    return info


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _questions(every: int = LATENCY_EVERY) -> list[str]:
    from eval.run import bundled_eval_file, load_eval_set

    items = load_eval_set(bundled_eval_file())
    return [str(it["question"]) for it in items[::every]]


def measure_latency(service: Any, questions: list[str], warmup: int = WARMUP) -> dict[str, Any]:
    """Wall-clock ms per ``service.ask`` after ``warmup`` unmeasured questions."""
    for q in questions[:warmup]:
        service.ask(q)
    wall = []
    for q in questions:
        t0 = time.perf_counter()
        service.ask(q)
        wall.append((time.perf_counter() - t0) * 1000.0)
    return {
        "questions": len(questions),
        "warmup": min(warmup, len(questions)),
        "p50_ms": _round(percentile(wall, 50)),
        "p95_ms": _round(percentile(wall, 95)),
        "max_ms": _round(max(wall) if wall else None),
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


_APP_PROBE = """
import sys, time
from pathlib import Path
from rapport.settings import Settings
from rag.service import build_service
from ui.app import create_app
settings = Settings.from_env(data_dir=Path(sys.argv[1]), embedding=sys.argv[2])
service = build_service(settings)
create_app(service, settings)
print("BUILT", time.time(), flush=True)
"""


def measure_app_start(settings: Settings, timeout_s: float = 300.0) -> dict[str, Any]:
    """Seconds from spawning a fresh Python process to a built (not launched) Gradio app over an
    existing index: interpreter start, imports, service and app construction."""
    try:
        import importlib.util

        if importlib.util.find_spec("ui.app") is None:
            return {"skipped": "ui.app is not available"}
    except (ImportError, ValueError):
        return {"skipped": "ui.app is not available"}
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False")
    t0 = time.time()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _APP_PROBE, str(settings.data_dir), settings.embedding],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            cwd=str(Path(__file__).resolve().parent.parent),
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"app did not build within {timeout_s:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BUILT "):
            return {"process_start_to_app_s": round(float(line.split()[1]) - t0, 2)}
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"skipped": f"app build failed (exit {proc.returncode}): {tail[0]}"}


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


def run_bench(
    settings: Settings, out: Path | str, llm: bool = False, echo: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Measure and write the figures to ``out`` (JSON); return them."""
    from ingest.pipeline import run_ingest
    from ingest.store import index_size_bytes
    from rag.service import build_service

    figures: dict[str, Any] = {
        "machine": machine_info(),
        "embedding": settings.embedding,
        "mode": settings.mode,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    questions = _questions()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        fresh = replace(settings, data_dir=Path(tmp) / "data", chroma_url=None, mode="extractive")
        echo(
            f"Cold ingest into {fresh.data_dir} (no index, no embedding cache; model {settings.embedding}) ..."
        )
        t0 = time.perf_counter()
        summary = run_ingest(fresh, force=True, progress=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_ingest(fresh, force=True, progress=False)
        cached = time.perf_counter() - t0
        figures["ingest"] = {
            "cold_s": round(cold, 2),
            "rebuild_with_embedding_cache_s": round(cached, 2),
            "chunks": summary.chunks,
            "tables": summary.tables,
            "model": summary.embedding,
        }
        figures["index_size_bytes"] = index_size_bytes(fresh.data_dir)
        figures["embedding_cache_bytes"] = _size(fresh.data_dir / "embed-cache.sqlite3")
        t0 = time.perf_counter()
        service = build_service(fresh)
        figures["service_build_s"] = round(time.perf_counter() - t0, 2)
        echo(f"Latency over {len(questions)} questions after {WARMUP} warm-up questions ...")
        figures["latency"] = measure_latency(service, questions)
        figures["peak_rss_mb"] = peak_rss_mb()  # ingest + model + service + answering, in this process
        echo("App start (fresh process to built Gradio app) ...")
        figures["app_start"] = measure_app_start(fresh)
        if llm:
            echo("LLM mode ...")
            figures["llm"] = measure_llm(fresh, questions[:20])
        del service
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    echo(format_bench(figures))
    echo(f"Figures written to {out_path}")
    return figures


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def format_bench(f: dict[str, Any]) -> str:
    m, ing, lat = f["machine"], f["ingest"], f["latency"]
    app = f.get("app_start", {})
    lines = [
        f"Machine: {m['platform']}, {m['cpu_count']} CPUs, Python {m['python']}",
        f"Ingest (cold, {ing['model']}): {ing['cold_s']:.1f} s for {ing['chunks']} chunks; "
        f"rebuild with embedding cache {ing['rebuild_with_embedding_cache_s']:.1f} s",
        f"Index size on disk: {f['index_size_bytes'] / 1e6:.1f} MB (embedding cache {f['embedding_cache_bytes'] / 1e6:.1f} MB)",
        f"Service build: {f['service_build_s']:.1f} s",
        f"Latency ({lat['questions']} questions, {lat['warmup']} warm-up): p50 {lat['p50_ms']} ms, "
        f"p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms",
        f"Peak RSS: {f['peak_rss_mb']:.0f} MiB",
        "App start: "
        + (
            f"{app['process_start_to_app_s']:.1f} s"
            if "process_start_to_app_s" in app
            else app.get("skipped", "not measured")
        ),
    ]
    if "llm" in f:
        llm = f["llm"]
        lines.append("LLM: " + (llm["skipped"] if "skipped" in llm else format_llm(llm)))
    return "\n".join(lines)


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

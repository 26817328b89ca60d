"""`rapport bench`: what one-shot and serving use cost, measured in separate processes.

Every figure comes from a fresh temporary data dir (no index, no embedding cache) so it does not
depend on what ``settings.data_dir`` holds:

* imports: `rapport --help` in a fresh process, and which heavy modules importing the CLI pulls in;
* ingest: a cold `rapport ingest` (own process: time and peak RSS), then adding a second report of
  the same size (the bundled report with changed figures);
* index size on disk (the live build only);
* `rapport ask` in a fresh process beside `python -c "import chromadb"` in the same run;
* `rapport serve`: seconds until the page answers, and its peak RSS;
* warm answers in one process: p50/p95 over dev questions while scoring every candidate, beside the
  naive LangChain recipe (query embedding + Chroma top-4) measured in the same run;
* ``--reports 1,5,20``: an index of N reports (copies with changed figures and years): ingest time,
  index size, warm p50/p95 and the peak RSS of a process that loads and answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.scorer import percentile
from rapport.settings import Settings, bundled_report_path

WARMUP = 5
HEAVY = ("torch", "langsmith", "scipy", "gradio", "sklearn", "lightgbm", "sentence_transformers")
ASK_QUESTION = "Hva var netto driftsresultat i 2020?"
# Runs a command and prints its peak RSS (KiB) on the last line: the child's own high-water mark.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(r.stderr[-2000:])\n"
    "sys.stdout.write(r.stdout)\n"
    "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n"
)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(AttributeError, OSError):
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError):
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _rapport() -> list[str]:
    exe = Path(sys.executable).with_name("rapport")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rapport.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_URL" and not k.startswith("RAPPORT_")}
    env.update(ANONYMIZED_TELEMETRY="False", GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


def run_measured(cmd: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Seconds and peak RSS (MiB) of one command in its own process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines() or ["RSS 0 1"]
    last = lines[-1].split()
    if last[0] != "RSS" or int(last[2]) != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} … failed: {proc.stderr.strip()[-400:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(int(last[1]) / 1024, 1), "stdout": lines[:-1]}


def _figures(measured: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in measured.items() if k != "stdout"}


def _median_time(cmd: Sequence[str], runs: int, env: dict[str, str]) -> dict[str, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - t0)
    return {"min_s": round(min(times), 3), "median_s": round(statistics.median(times), 3)}


def measure_imports(runs: int = 3) -> dict[str, Any]:
    """`rapport --help` in a fresh process, and the heavy modules the CLI's import pulls in."""
    env = _env()
    probe = f"import sys, rapport.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env).stdout.strip()
    importtime = subprocess.run([sys.executable, "-X", "importtime", "-c", "import rapport.cli"], capture_output=True,
                                text=True, env=env).stderr
    m = re.findall(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s+rapport\.cli$", importtime, re.M)
    return {
        "help": _median_time([*_rapport(), "--help"], runs, env),
        "import_rapport_cli_ms": round(int(m[-1]) / 1000, 1) if m else None,
        "heavy_modules_loaded_by_cli": [x for x in loaded.split(",") if x],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_serve(data_dir: Path, timeout_s: float = 300.0) -> dict[str, Any]:
    """Seconds from spawning `rapport serve` to the page answering, and the server's peak RSS."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([*_rapport(), "serve", "--data-dir", str(data_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                return {"skipped": f"serve exited with code {proc.returncode}"}
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                if resp.status == 200:
                    ready = time.perf_counter() - t0
                    return {"ready_s": round(ready, 2), "peak_rss_mib": _vm_hwm(proc.pid)}
            time.sleep(0.1)
        return {"skipped": f"not ready within {timeout_s:.0f} s"}
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


def _vm_hwm(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def index_size_bytes(data_dir: Path, collection: str | None = None) -> int:
    """Bytes of the local index: the SQLite file's used pages and the live build's vector segment."""
    root = Path(data_dir) / "chroma"
    if not root.is_dir():
        return 0
    import sqlite3

    total = 0
    db = root / "chroma.sqlite3"
    if db.exists():
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            pages, free, size = (con.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size"))
            total += (pages - free) * size
    for seg in root.iterdir():
        if seg.is_dir():
            total += sum(p.stat().st_size for p in seg.rglob("*") if p.is_file())
    return total


def _questions(every: int = 2) -> list[str]:
    path = Path(__file__).resolve().parent / "splits" / "dev.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [str(it["question"]) for it in items[::every]]


def measure_latency(service: Any, questions: Sequence[str], warmup: int = WARMUP) -> dict[str, Any]:
    for q in questions[:warmup]:
        service.ask(q)
    wall = []
    for q in questions:
        t0 = time.perf_counter()
        service.ask(q)
        wall.append((time.perf_counter() - t0) * 1000.0)
    return {"questions": len(questions), "p50_ms": _r(percentile(wall, 50)), "p95_ms": _r(percentile(wall, 95)),
            "max_ms": _r(max(wall) if wall else None)}


def measure_naive(settings: Settings, questions: Sequence[str], warmup: int = WARMUP) -> dict[str, Any]:
    """The LangChain tutorial recipe (split, embed, Chroma top-4) answering the same questions."""
    from eval.baseline import build_baseline

    retriever = build_baseline(settings, echo=lambda s: None)
    for q in questions[:warmup]:
        retriever.search(q, k=4)
    wall = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, k=4)
        wall.append((time.perf_counter() - t0) * 1000.0)
    return {"p50_ms": _r(percentile(wall, 50)), "p95_ms": _r(percentile(wall, 95))}


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def variant_text(text: str, i: int) -> str:
    """Copy i of a report: every year +i and every decimal figure changed, so its texts differ."""
    if i == 0:
        return text
    text = re.sub(r"(?<![\d,])(20[0-2]\d)(?![\d,])", lambda m: str(int(m.group(1)) + i), text)
    return re.sub(r"(?<=\d),(\d)(?!\d)", lambda m: "," + str((int(m.group(1)) + i) % 10), text)


_SCALE_CHILD = r"""
import json, sys, time
from pathlib import Path
from eval.bench import measure_latency
from rag.service import build_service
from rapport.settings import Settings
settings = Settings.from_env(data_dir=Path(sys.argv[1]), embedding=sys.argv[2])
t0 = time.perf_counter()
service = build_service(settings)
load = time.perf_counter() - t0
questions = json.loads(sys.argv[3])
print(json.dumps({"load_s": round(load, 2), **measure_latency(service, questions)}))
"""


def measure_scaling(settings: Settings, counts: Sequence[int], root: Path, questions: Sequence[str],
                    echo: Callable[[str], Any]) -> list[dict[str, Any]]:
    """An index of N reports for each N: ingest time, index size, answer latency and RSS."""
    base = bundled_report_path().read_text(encoding="utf-8")
    out = []
    for n in counts:
        data = root / f"scale-{n}"
        cache = root / "scale-embed-cache.sqlite3"
        t0 = time.perf_counter()
        for i in range(n):
            src = root / f"copy-{i}.txt"
            src.write_text(variant_text(base, i), encoding="utf-8")
            data.mkdir(parents=True, exist_ok=True)
            if cache.exists():  # copies share most texts: the cache across N is part of the design
                shutil.copy(cache, data / "embed-cache.sqlite3")
            run_measured([*_rapport(), "ingest", "--source", str(src), "--data-dir", str(data), "--no-progress",
                          "--embedding", settings.embedding, "--id", f"copy-{i}"], _env())
            shutil.copy(data / "embed-cache.sqlite3", cache)
        ingest_s = time.perf_counter() - t0
        child = run_measured([sys.executable, "-c", _SCALE_CHILD, str(data), settings.embedding,
                              json.dumps(list(questions))], _env())
        row = {"reports": n, "ingest_s": round(ingest_s, 1), "index_bytes": index_size_bytes(data),
               "answer_process_peak_rss_mib": child["peak_rss_mib"], **json.loads(child["stdout"][-1])}
        echo(f"  N={n}: {row}")
        out.append(row)
    return out


def run_bench(settings: Settings, out: Path | str, llm: bool = False, reports: Sequence[int] = (),
              echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Measure and write the figures to ``out`` (JSON); return them."""
    figures: dict[str, Any] = {"machine": machine_info(), "embedding": settings.embedding,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    questions = _questions()
    env = _env()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        echo("Imports ...")
        figures["imports"] = measure_imports()
        echo(f"Cold ingest into {data} (no index, no embedding cache; {settings.embedding}) ...")
        cold = run_measured([*_rapport(), "ingest", "--data-dir", str(data), "--no-progress", "--embedding",
                             settings.embedding], env)
        second_src = root / "neste.txt"
        second_src.write_text(variant_text(bundled_report_path().read_text(encoding="utf-8"), 1), encoding="utf-8")
        second = run_measured([*_rapport(), "ingest", "--source", str(second_src), "--data-dir", str(data),
                               "--no-progress", "--embedding", settings.embedding, "--id", "neste"], env)
        run_measured([*_rapport(), "remove", "neste", "--data-dir", str(data)], env)
        figures["ingest"] = {"cold": _figures(cold), "second_report_of_the_same_size": _figures(second)}
        figures["index_size_bytes"] = index_size_bytes(data)
        echo("rapport ask in a fresh process, beside `import chromadb` ...")
        ask_env = _env(RAPPORT_EMBEDDING=settings.embedding)
        # the first ask after an ingest prepares the report's engine and caches it (rag/engine_cache.py)
        first = run_measured([*_rapport(), "ask", "--data-dir", str(data), ASK_QUESTION], ask_env)
        figures["ask_fresh_process"] = {
            "first_after_ingest_s": first["seconds"],
            **_median_time([*_rapport(), "ask", "--data-dir", str(data), ASK_QUESTION], 3, ask_env),
            **_figures(run_measured([*_rapport(), "ask", "--data-dir", str(data), ASK_QUESTION], ask_env)),
            "import_chromadb": _median_time([sys.executable, "-c", "import chromadb"], 3, env),
        }
        echo("rapport serve until the page answers ...")
        figures["serve"] = measure_serve(data)
        echo(f"Warm answers over {len(questions)} dev questions, and the naive recipe ...")
        from rag.service import build_service

        fresh = replace(settings, data_dir=data, chroma_url=None, mode="extractive")
        service = build_service(fresh)
        figures["latency"] = measure_latency(service, questions)
        figures["naive_langchain_recipe"] = measure_naive(fresh, questions)
        if llm:
            from eval.bench_llm import measure_llm

            echo("LLM mode ...")
            figures["llm"] = measure_llm(fresh, questions[:20])
        if reports:
            echo(f"Scaling over {list(reports)} reports ...")
            figures["scaling"] = measure_scaling(settings, reports, root, questions[:40], echo)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    echo(format_bench(figures))
    echo(f"Figures written to {out_path}")
    return figures


def format_bench(f: dict[str, Any]) -> str:
    m, imp, ing, ask = f["machine"], f["imports"], f["ingest"], f["ask_fresh_process"]
    lat, naive, serve = f["latency"], f["naive_langchain_recipe"], f["serve"]
    lines = [
        f"Machine: {m['platform']}, {m['cpu_count']} CPUs, Python {m['python']}, load {m.get('load_average_at_start')}",
        f"rapport --help: median {imp['help']['median_s']} s; importing the CLI loads: "
        f"{', '.join(imp['heavy_modules_loaded_by_cli']) or 'none of ' + '/'.join(HEAVY)}",
        f"Ingest (cold): {ing['cold']['seconds']} s, peak RSS {ing['cold']['peak_rss_mib']} MiB; a second report of "
        f"the same size: {ing['second_report_of_the_same_size']['seconds']} s",
        f"Index size: {f['index_size_bytes'] / 1e6:.1f} MB",
        f"rapport ask (fresh process): median {ask['median_s']} s (import chromadb: {ask['import_chromadb']['median_s']} s), "
        f"peak RSS {ask['peak_rss_mib']} MiB; the first after an ingest {ask.get('first_after_ingest_s')} s",
        "rapport serve ready: " + (f"{serve['ready_s']} s, peak RSS {serve['peak_rss_mib']} MiB" if "ready_s" in serve
                                   else serve.get("skipped", "?")),
        f"Warm answers ({lat['questions']} questions): p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms; naive recipe "
        f"p50 {naive['p50_ms']} ms, p95 {naive['p95_ms']} ms",
    ]
    for row in f.get("scaling", []):
        lines.append(f"N={row['reports']}: ingest {row['ingest_s']} s, index {row['index_bytes'] / 1e6:.1f} MB, "
                     f"p50 {row.get('p50_ms')} ms, p95 {row.get('p95_ms')} ms, RSS {row['answer_process_peak_rss_mib']} MiB")
    if "llm" in f:
        from eval.bench_llm import format_llm

        llm = f["llm"]
        lines.append("LLM: " + (llm["skipped"] if "skipped" in llm else format_llm(llm)))
    return "\n".join(lines)

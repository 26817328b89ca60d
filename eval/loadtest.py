"""A bounded load driver for the app's `/ask` API.

First every distinct question is asked once, in order, by a single session (the single-user
reference answers); then `sessions` sessions, each its own gradio_client.Client, start together
and ask `questions` questions each. Reported: p50/p95/max latency per request, errors (a
failed request, a timeout, or a reply with an `error` field), and mismatches (a reply whose
answer text, value, unit, abstention or first citation differs from the single-user answer to
the same question).

Everything is bounded: each request has a timeout, the whole run has a deadline after which no
new request is sent (the run is then reported as not finished), and all threads are daemons.

    python -m eval.loadtest --url http://127.0.0.1:7860/ --sessions 50 --questions 10 --out load.json

Login, when the app has one, is read from RAPPORT_AUTH_USER / RAPPORT_AUTH_PASSWORD.
Exit code 0 when the run finished with no errors and no mismatches, 1 otherwise, 2 when it could
not start (app unreachable, bad eval file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.scorer import percentile

DEFAULT_DEADLINE_S = 300.0
DEFAULT_REQUEST_TIMEOUT_S = 60.0
SAMPLES = 10  # error and mismatch examples kept in the report

AskFn = Callable[[str], Any]


def load_questions(eval_file: Path | str | None = None) -> list[str]:
    """The questions of an eval JSONL file (default: the bundled eval set), in file order."""
    from eval.run import bundled_eval_file, load_eval_set

    items = load_eval_set(Path(eval_file) if eval_file is not None else bundled_eval_file())
    return [str(it["question"]) for it in items]


def plan_sessions(
    questions: Sequence[str], sessions: int, per_session: int, seed: int = 0
) -> list[list[str]]:
    """Which questions each session asks: consecutive slices of the question list (wrapping
    around, so with more requests than questions every question is asked by several sessions),
    each slice shuffled so sessions that share questions do not ask them in lockstep."""
    if not questions:
        raise ValueError("no questions to ask")
    rng = random.Random(seed)
    plan: list[list[str]] = []
    n = len(questions)
    for s in range(sessions):
        mine = [questions[(s * per_session + j) % n] for j in range(per_session)]
        rng.shuffle(mine)
        plan.append(mine)
    return plan


def comparable(data: Any) -> dict[str, Any]:
    """The parts of an `/ask` reply that must not depend on load: answer text, value, unit,
    abstention and first citation (latency and trace may differ)."""
    if not isinstance(data, dict):
        return {"not_a_dict": repr(data)[:200]}
    cites = data.get("citations") or []
    return {
        "answer": data.get("answer"),
        "value": data.get("value"),
        "value_raw": data.get("value_raw"),
        "unit": data.get("unit"),
        "abstained": data.get("abstained"),
        "first_citation": cites[0] if cites else None,
        "error": data.get("error"),
    }


def gradio_session(
    url: str, auth: tuple[str, str] | None = None, request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
):
    """A new gradio_client session on `url`: returns (ask, close); ask(question) -> reply dict."""
    # gradio_client's telemetry would try to reach the internet; it only honours the env switch.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    client = Client(
        url,
        auth=auth,
        verbose=False,
        max_workers=2,
        download_files=False,
        analytics_enabled=False,
        httpx_kwargs={"timeout": request_timeout_s},
    )

    def ask(question: str) -> Any:
        return client.submit(question, api_name="/ask").result(timeout=request_timeout_s)

    return ask, client.close


@dataclass
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    done: int = 0
    errors: int = 0
    mismatches: int = 0
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    mismatch_samples: list[dict[str, Any]] = field(default_factory=list)

    def error(self, session: int, question: str, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < SAMPLES:
                self.error_samples.append(
                    {"session": session, "question": question[:200], "error": what[:500]}
                )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values)) if values else None,
        "mean": r(sum(values) / len(values)) if values else None,
    }


def run_load(
    url: str,
    *,
    sessions: int = 50,
    questions_per_session: int = 10,
    questions: Sequence[str] | None = None,
    auth: tuple[str, str] | None = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    seed: int = 0,
    session_factory: Callable[[], tuple[AskFn, Callable[[], Any]]] | None = None,
    echo: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Run the reference pass and the concurrent pass against `url`; returns the report dict."""
    say = echo or (lambda _msg: None)
    factory = session_factory or (lambda: gradio_session(url, auth, request_timeout_s))
    qs = list(questions) if questions is not None else load_questions()
    plan = plan_sessions(qs, sessions, questions_per_session, seed)
    start = time.monotonic()
    hard_stop = start + deadline_s
    stop = threading.Event()

    # ---- single-user reference, sequential
    wanted = list(dict.fromkeys(q for mine in plan for q in mine))
    reference: dict[str, dict[str, Any]] = {}
    ref_latencies: list[float] = []
    ref_errors: list[dict[str, Any]] = []
    ref_complete = True
    ask, close = factory()
    try:
        for q in wanted:
            if time.monotonic() > hard_stop:
                ref_complete = False
                break
            t0 = time.perf_counter()
            try:
                data = ask(q)
            except Exception as exc:
                ref_errors.append({"question": q[:200], "error": _describe(exc)})
                continue
            ref_latencies.append((time.perf_counter() - t0) * 1000.0)
            reference[q] = comparable(data)
            if reference[q].get("error") or reference[q].get("not_a_dict"):
                ref_errors.append({"question": q[:200], "error": str(reference[q])[:500]})
    finally:
        close()
    ref_s = time.monotonic() - start
    say(
        f"single-user reference: {len(reference)}/{len(wanted)} questions in {ref_s:.1f} s, "
        f"p50 {_stats(ref_latencies)['p50']} ms, p95 {_stats(ref_latencies)['p95']} ms"
    )

    # ---- concurrent sessions
    tally = _Tally()
    barrier = threading.Barrier(sessions)
    finished = [False] * sessions

    def session(i: int) -> None:
        ask_i: AskFn | None = None
        close_i: Callable[[], Any] | None = None
        if time.monotonic() > hard_stop:
            return  # the reference pass used up the time: not even a connection
        try:
            ask_i, close_i = factory()
        except Exception as exc:
            tally.error(i, "", "session setup: " + _describe(exc))
        with contextlib.suppress(threading.BrokenBarrierError):  # start anyway; the deadline bounds the run
            barrier.wait(timeout=max(0.1, hard_stop - time.monotonic()))
        try:
            if ask_i is None:
                return
            for q in plan[i]:
                if stop.is_set() or time.monotonic() > hard_stop:
                    return
                t0 = time.perf_counter()
                try:
                    data = ask_i(q)
                except Exception as exc:
                    tally.error(i, q, _describe(exc))
                    continue
                ms = (time.perf_counter() - t0) * 1000.0
                got = comparable(data)
                with tally.lock:
                    tally.done += 1
                    tally.latencies_ms.append(ms)
                if got.get("error") or got.get("not_a_dict"):
                    tally.error(i, q, str(got)[:500])
                    continue
                expected = reference.get(q)
                if expected is not None and got != expected:
                    with tally.lock:
                        tally.mismatches += 1
                        if len(tally.mismatch_samples) < SAMPLES:
                            tally.mismatch_samples.append(
                                {"session": i, "question": q, "expected": expected, "got": got}
                            )
            finished[i] = True
        finally:
            if close_i is not None:
                with contextlib.suppress(Exception):
                    close_i()

    t_load = time.monotonic()
    threads = [
        threading.Thread(target=session, args=(i,), name=f"load-{i}", daemon=True) for i in range(sessions)
    ]
    for th in threads:
        th.start()
    join_until = hard_stop + 1.0  # one grace second in all, not per thread
    for th in threads:
        th.join(timeout=max(0.0, join_until - time.monotonic()))
    stop.set()
    load_s = time.monotonic() - t_load
    alive = sum(th.is_alive() for th in threads)
    planned = sessions * questions_per_session
    with tally.lock:
        lat = list(tally.latencies_ms)
        report: dict[str, Any] = {
            "url": url,
            "sessions": sessions,
            "questions_per_session": questions_per_session,
            "requests_planned": planned,
            "requests_done": tally.done,
            "finished": alive == 0 and all(finished) and ref_complete,
            "unfinished_sessions": sessions - sum(finished),
            "deadline_s": deadline_s,
            "errors": tally.errors,
            "error_samples": list(tally.error_samples),
            "mismatches": tally.mismatches,
            "mismatch_samples": list(tally.mismatch_samples),
            "latency_ms": _stats(lat),
            "wall_s": round(load_s, 2),
            "throughput_rps": round(tally.done / load_s, 2) if load_s > 0 else None,
            "single_user": {
                "questions": len(wanted),
                "answered": len(reference),
                "errors": len(ref_errors),
                "error_samples": ref_errors[:SAMPLES],
                "latency_ms": _stats(ref_latencies),
                "wall_s": round(ref_s, 2),
            },
        }
    say(
        f"{sessions} sessions x {questions_per_session} questions: {tally.done}/{planned} done in {load_s:.1f} s, "
        f"p50 {report['latency_ms']['p50']} ms, p95 {report['latency_ms']['p95']} ms, "
        f"errors {tally.errors}, mismatches {tally.mismatches}"
        + ("" if report["finished"] else " (NOT FINISHED)")
    )
    return report


def ok(report: dict[str, Any]) -> bool:
    """The run finished, with no errors (either pass) and no mismatches."""
    return (
        bool(report["finished"])
        and report["errors"] == 0
        and report["mismatches"] == 0
        and (report["single_user"]["errors"] == 0)
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="The app, e.g. http://127.0.0.1:7860/")
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--questions", type=int, default=10, help="Questions per session.")
    p.add_argument(
        "--eval-file", type=Path, default=None, help="Questions (eval JSONL). Default: the bundled set."
    )
    p.add_argument(
        "--deadline", type=float, default=DEFAULT_DEADLINE_S, help="Stop sending after this many seconds."
    )
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT_S)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="Write the JSON report here.")
    args = p.parse_args(argv)
    if args.sessions < 1 or args.questions < 1:
        p.error("--sessions and --questions must be at least 1")
    user, password = os.environ.get("RAPPORT_AUTH_USER"), os.environ.get("RAPPORT_AUTH_PASSWORD")
    auth = (user, password) if user and password else None
    try:
        report = run_load(
            args.url,
            sessions=args.sessions,
            questions_per_session=args.questions,
            questions=load_questions(args.eval_file),
            auth=auth,
            deadline_s=args.deadline,
            request_timeout_s=args.request_timeout,
            seed=args.seed,
            echo=lambda m: print(m, file=sys.stderr),
        )
    except Exception as exc:  # cannot reach the app, bad eval file: a message, not a traceback
        print(f"loadtest: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0 if ok(report) else 1


if __name__ == "__main__":
    sys.exit(main())

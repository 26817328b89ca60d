"""A bounded load driver for the app's `/ask` API, and a soak run that watches memory.

First every distinct question is asked once, in order, by a single session (the single-user
reference answers); then `sessions` sessions, each its own gradio_client.Client, start together
and ask `questions` questions each (or, with `--soak S`, keep asking for S seconds, opening a new
session every `--new-session-every` questions, as new visitors would). Reported: p50/p95/max
latency per request, throughput (per instance and per CPU core of this machine), errors (a
failed request, a timeout, or a reply with an `error` field), «busy» replies (the queue was full:
counted apart, they are the app doing its job), and mismatches (a reply whose answer text,
value, unit, abstention or first citation differs from the single-user answer to the same
question). A request that comes back cancelled, though the driver never cancels, is asked once
more and counted as a client retry: gradio_client cancels a job locally when its session's
stream reader ends while the job waits (the reader can read the server's «stream closed» for the
previous question after the next one was sent, a race in the client library; a dropped stream
does the same). Retries are reported so a run can bound them; a second cancel is an error.
With `--rss-pid PID` (repeatable) the resident memory of the server processes is
sampled during the run and reported as a series.

Several `--url`s spread the sessions over several instances (round robin), to measure how
throughput grows with instances.

Everything is bounded: each request has a timeout, the whole run has a deadline after which no
new request is sent (the run is then reported as not finished), and all threads are daemons.

    python -m eval.loadtest --url http://127.0.0.1:7860/ --sessions 50 --questions 10 --out load.json
    python -m eval.loadtest --url http://127.0.0.1:7860/ --sessions 20 --soak 600 --rss-pid 1234

Login, when the app has one, is read from RAPPORT_AUTH_USER / RAPPORT_AUTH_PASSWORD.
Exit code 0 when the run finished with no errors and no mismatches, 1 otherwise, 2 when it could
not start (app unreachable, bad eval file).
"""

from __future__ import annotations

import argparse
import concurrent.futures
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

from eval.askclient import DEFAULT_REQUEST_TIMEOUT_S, AskFn, comparable, gradio_session, is_busy
from eval.procstats import RssSampler
from eval.scorer import percentile

DEFAULT_DEADLINE_S = 300.0
SAMPLES = 10  # error and mismatch examples kept in the report


def load_questions(eval_file: Path | str | None = None) -> list[str]:
    """The questions of an eval JSONL file (default: the bundled eval set), in file order."""
    from eval.run import default_eval_file, load_eval_set

    items = load_eval_set(Path(eval_file) if eval_file is not None else default_eval_file())
    return [str(it["question"]) for it in items]


def plan_sessions(questions: Sequence[str], sessions: int, per_session: int, seed: int = 0) -> list[list[str]]:
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


@dataclass
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    done: int = 0
    errors: int = 0
    busy: int = 0
    mismatches: int = 0
    client_retries: int = 0
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    mismatch_samples: list[dict[str, Any]] = field(default_factory=list)

    def error(self, session: int, question: str, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < SAMPLES:
                self.error_samples.append({"session": session, "question": question[:200], "error": what[:500]})


def ask_once_more_if_cancelled(ask: AskFn, question: str) -> tuple[Any, bool]:
    """ask(question), asked a second time when the first comes back cancelled (see the module
    docstring); returns (reply, whether it was asked again). A second cancel propagates."""
    try:
        return ask(question), False
    except concurrent.futures.CancelledError:
        return ask(question), True


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values)) if values else None,
        "mean": r(sum(values) / len(values)) if values else None,
    }


def run_load(
    url: str | Sequence[str],
    *,
    sessions: int = 50,
    questions_per_session: int = 10,
    questions: Sequence[str] | None = None,
    auth: tuple[str, str] | None = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    seed: int = 0,
    soak_s: float | None = None,
    new_session_every: int | None = None,
    rss_pids: Sequence[int] = (),
    rss_every_s: float = 5.0,
    session_factory: Callable[[str], tuple[AskFn, Callable[[], Any]]] | None = None,
    echo: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Run the reference pass and the concurrent pass against `url` (one or several instances);
    returns the report dict. With `soak_s`, sessions keep asking until that many seconds passed."""
    say = echo or (lambda _msg: None)
    urls = [url] if isinstance(url, str) else list(url)
    factory = session_factory or (lambda u: gradio_session(u, auth, request_timeout_s))
    qs = list(questions) if questions is not None else load_questions()
    plan = plan_sessions(qs, sessions, questions_per_session, seed)
    start = time.monotonic()
    hard_stop = start + deadline_s
    stop = threading.Event()

    # ---- single-user reference, sequential, on the first instance
    wanted = list(dict.fromkeys(q for mine in plan for q in mine))
    reference: dict[str, dict[str, Any]] = {}
    ref_latencies: list[float] = []
    ref_errors: list[dict[str, Any]] = []
    ref_complete = True
    ref_retries = 0
    ask, close = factory(urls[0])
    try:
        for q in wanted:
            if time.monotonic() > hard_stop:
                ref_complete = False
                break
            t0 = time.perf_counter()
            try:
                data, again = ask_once_more_if_cancelled(ask, q)
            except Exception as exc:
                ref_errors.append({"question": q[:200], "error": _describe(exc)})
                continue
            ref_retries += again
            ref_latencies.append((time.perf_counter() - t0) * 1000.0)
            reference[q] = comparable(data)
            if reference[q].get("error") or reference[q].get("not_a_dict"):
                ref_errors.append({"question": q[:200], "error": str(reference[q])[:500]})
    finally:
        close()
    ref_s = time.monotonic() - start
    say(f"single-user reference: {len(reference)}/{len(wanted)} questions in {ref_s:.1f} s, "
        f"p50 {_stats(ref_latencies)['p50']} ms, p95 {_stats(ref_latencies)['p95']} ms")

    # ---- concurrent sessions
    tally = _Tally()
    barrier = threading.Barrier(sessions)
    finished = [False] * sessions
    sessions_opened = [0]
    soak_until: list[float] = [0.0]

    def open_session(i: int) -> tuple[AskFn | None, Callable[[], Any] | None]:
        try:
            pair = factory(urls[i % len(urls)])
        except Exception as exc:
            tally.error(i, "", "session setup: " + _describe(exc))
            return None, None
        with tally.lock:
            sessions_opened[0] += 1
        return pair

    def one(i: int, ask_i: AskFn, q: str) -> None:
        t0 = time.perf_counter()
        try:
            data, again = ask_once_more_if_cancelled(ask_i, q)
        except Exception as exc:
            if is_busy(exc=exc):
                with tally.lock:
                    tally.busy += 1
                return
            tally.error(i, q, _describe(exc))
            return
        ms = (time.perf_counter() - t0) * 1000.0
        if is_busy(data):
            with tally.lock:
                tally.busy += 1
            return
        got = comparable(data)
        with tally.lock:
            tally.client_retries += again
            tally.done += 1
            tally.latencies_ms.append(ms)
        if got.get("error") or got.get("not_a_dict"):
            tally.error(i, q, str(got)[:500])
            return
        expected = reference.get(q)
        if expected is not None and got != expected:
            with tally.lock:
                tally.mismatches += 1
                if len(tally.mismatch_samples) < SAMPLES:
                    tally.mismatch_samples.append({"session": i, "question": q, "expected": expected, "got": got})

    def session(i: int) -> None:
        if time.monotonic() > hard_stop:
            return  # the reference pass used up the time: not even a connection
        ask_i, close_i = open_session(i)
        with contextlib.suppress(threading.BrokenBarrierError):  # start anyway; the deadline bounds the run
            barrier.wait(timeout=max(0.1, hard_stop - time.monotonic()))
        try:
            if ask_i is None:
                return
            j = 0
            while True:
                if stop.is_set() or time.monotonic() > hard_stop:
                    return
                if soak_s is None and j >= len(plan[i]):
                    break
                if soak_s is not None and time.monotonic() > soak_until[0]:
                    break
                if new_session_every and j and j % new_session_every == 0:
                    if close_i is not None:
                        with contextlib.suppress(Exception):
                            close_i()
                    ask_i, close_i = open_session(i)
                    if ask_i is None:
                        return
                one(i, ask_i, plan[i][j % len(plan[i])])
                j += 1
            finished[i] = True
        finally:
            if close_i is not None:
                with contextlib.suppress(Exception):
                    close_i()

    sampler = RssSampler(rss_pids, rss_every_s).start() if rss_pids else None
    t_load = time.monotonic()
    soak_until[0] = t_load + (soak_s or 0.0)
    threads = [threading.Thread(target=session, args=(i,), name=f"load-{i}", daemon=True) for i in range(sessions)]
    for th in threads:
        th.start()
    join_until = hard_stop + 1.0  # one grace second in all, not per thread
    for th in threads:
        th.join(timeout=max(0.0, join_until - time.monotonic()))
    stop.set()
    load_s = time.monotonic() - t_load
    memory = sampler.stop() if sampler is not None else None
    alive = sum(th.is_alive() for th in threads)
    planned = None if soak_s is not None else sessions * questions_per_session
    cores = os.cpu_count() or 1
    with tally.lock:
        lat = list(tally.latencies_ms)
        rps = round(tally.done / load_s, 2) if load_s > 0 else None
        report: dict[str, Any] = {
            "url": urls[0] if len(urls) == 1 else urls,
            "instances": len(urls),
            "cpu_cores": cores,
            "sessions": sessions,
            "sessions_opened": sessions_opened[0],
            "questions_per_session": questions_per_session,
            "soak_s": soak_s,
            "requests_planned": planned,
            "requests_done": tally.done,
            "finished": alive == 0 and all(finished) and ref_complete,
            "unfinished_sessions": sessions - sum(finished),
            "deadline_s": deadline_s,
            "errors": tally.errors,
            "error_samples": list(tally.error_samples),
            "busy": tally.busy,
            "mismatches": tally.mismatches,
            "client_retries": tally.client_retries,
            "mismatch_samples": list(tally.mismatch_samples),
            "latency_ms": _stats(lat),
            "wall_s": round(load_s, 2),
            "throughput_rps": rps,
            "throughput_rps_per_instance": round(rps / len(urls), 2) if rps is not None else None,
            "single_user": {
                "questions": len(wanted),
                "answered": len(reference),
                "errors": len(ref_errors),
                "error_samples": ref_errors[:SAMPLES],
                "client_retries": ref_retries,
                "latency_ms": _stats(ref_latencies),
                "wall_s": round(ref_s, 2),
            },
        }
        if memory is not None:
            report["memory"] = memory
            cpu = [v for v in memory["cpu_s"].values() if v]
            if cpu and tally.done:
                # what one core does when it only answers (the load driver's own CPU left out)
                report["server_cpu_s"] = round(sum(cpu), 2)
                report["answers_per_server_cpu_s"] = round(tally.done / sum(cpu), 2)
    say(f"{sessions} sessions on {len(urls)} instance(s) x "
        + (f"{soak_s:.0f} s" if soak_s is not None else f"{questions_per_session} questions")
        + f": {tally.done} done in {load_s:.1f} s ({rps} req/s on {cores} core(s)), "
        f"p50 {report['latency_ms']['p50']} ms, p95 {report['latency_ms']['p95']} ms, "
        f"errors {tally.errors}, busy {tally.busy}, mismatches {tally.mismatches}, "
        f"client retries {tally.client_retries}"
        + ("" if report["finished"] else " (NOT FINISHED)"))
    if memory is not None:
        if report.get("answers_per_server_cpu_s"):
            say(f"server CPU: {report['server_cpu_s']} s for {tally.done} answers = "
                f"{report['answers_per_server_cpu_s']} answers per CPU-second (one core)")
        for pid, m in memory["per_process"].items():
            say(f"RSS of {pid}: first {m['first']} MiB, max {m['max']} MiB, last {m['last']} MiB, "
                f"growth after warm-up {m['growth_after_warmup']} MiB")
    return report


def ok(report: dict[str, Any]) -> bool:
    """The run finished, with no errors (either pass) and no mismatches."""
    return (bool(report["finished"]) and report["errors"] == 0 and report["mismatches"] == 0
            and report["single_user"]["errors"] == 0)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.loadtest", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--url", required=True, action="append",
                   help="The app, e.g. http://127.0.0.1:7860/ (repeat for several instances).")
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--questions", type=int, default=10, help="Questions per session (without --soak).")
    p.add_argument("--soak", type=float, default=None, help="Keep asking for this many seconds.")
    p.add_argument("--new-session-every", type=int, default=None,
                   help="Open a new session after this many questions (default with --soak: 10).")
    p.add_argument("--rss-pid", type=int, action="append", default=[], help="Sample this process's RSS.")
    p.add_argument("--rss-every", type=float, default=5.0, help="Seconds between RSS samples.")
    p.add_argument("--eval-file", type=Path, default=None, help="Questions (eval JSONL). Default: the bundled set.")
    p.add_argument("--deadline", type=float, default=None,
                   help="Stop sending after this many seconds (default 300, or the soak time + 300).")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT_S)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="Write the JSON report here.")
    args = p.parse_args(argv)
    if args.sessions < 1 or args.questions < 1:
        p.error("--sessions and --questions must be at least 1")
    user, password = os.environ.get("RAPPORT_AUTH_USER"), os.environ.get("RAPPORT_AUTH_PASSWORD")
    auth = (user, password) if user and password else None
    deadline = args.deadline or (DEFAULT_DEADLINE_S + (args.soak or 0.0))
    every = args.new_session_every if args.new_session_every is not None else (10 if args.soak else None)
    try:
        report = run_load(args.url, sessions=args.sessions, questions_per_session=args.questions,
                          questions=load_questions(args.eval_file), auth=auth, deadline_s=deadline,
                          request_timeout_s=args.request_timeout, seed=args.seed, soak_s=args.soak,
                          new_session_every=every, rss_pids=args.rss_pid, rss_every_s=args.rss_every,
                          echo=lambda m: print(m, file=sys.stderr))
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

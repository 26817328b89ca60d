"""rag.llm: the numeric guard (formats, years, citation markers), the incremental guard while
streaming, the finish reason, streaming through the chain and the service, and time to first
token as rapport bench measures it (with fake streaming chat models, no server)."""

from __future__ import annotations

import time

import pytest
from fakes import StreamingFake, fake_service
from langchain_core.language_models import BaseChatModel

from eval.bench_llm import llm_outcome, stream_timings
from rag.chain import Turn, stream
from rag.llm import StreamEvent, make_chat_model, make_llm_writer
from rag.llm_guard import (
    PrefixGuard,
    Rejected,
    allowed_numbers,
    bad_citations,
    citation_markers,
    guard,
    has_value,
    scan_numbers,
)
from rapport.settings import Settings

Q = "Hva var netto driftsresultat i 2020?"  # the invented report: -679,4 (Regnskap 2020), budget -237,0
EXTRACTIVE_START = "«Netto driftsresultat» i regnskapet for 2020 var -679,4"


def _service(model: BaseChatModel | None, mode: str = "llm"):
    settings = Settings(mode=mode)
    writer = make_llm_writer(settings, model) if mode == "llm" else None
    return fake_service(settings, writer)


def _events(svc, question: str = Q) -> tuple[list[str], StreamEvent]:
    deltas: list[str] = []
    final = None
    for ev in svc.stream(question):
        if ev.kind == "delta":
            assert final is None, "no delta after the final event"
            deltas.append(ev.text)
        else:
            assert ev.kind == "final" and final is None
            final = ev
    assert final is not None and final.answer is not None
    return deltas, final


# --------------------------------------------------------------------------- the numeric guard


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("Andelen var 7,0%.", "7,0 %"),
        ("Andelen var 7,0 %.", "7,0 %"),
        ("The share was 7.0 percent.", "7,0 %"),
        ("Tilskuddet var 1 878,6 mill. kr.", "1878,6"),
        ("Tilskuddet var 1878,6 mill. kr.", "1 878,6"),
        ("Tilskuddet var 1\u00a0878,6 og 1\u202f878,6.", "1 878,6"),
        ("The grant was 1,878.6 million.", "1 878,6"),
        ("Resultatet var −679,4 mill. kr.", "-679,4"),
        ("Resultatet var -679,4 mill. kr.", "−679,4"),
        ("Det er 57 657 kroner per innbygger.", "57657"),
        ("Det var 12 000 personer.", "12,000"),
    ],
)
def test_numbers_compare_numerically(text: str, cited: str) -> None:
    allowed = {v for n in scan_numbers(cited) for v in n.values}
    assert guard(text, allowed) == [], (text, cited, scan_numbers(text))


def test_a_changed_or_unsigned_figure_fails() -> None:
    allowed = {v for n in scan_numbers("-679,4 og 7,0 %") for v in n.values}
    assert guard("Resultatet var 679,4 mill. kr.", allowed) == ["679,4"]  # sign dropped
    assert guard("Resultatet var -679 mill. kr.", allowed) == ["-679"]  # rounded
    assert guard("Andelen var 7,1 %.", allowed) == ["7,1"]
    assert guard("Andelen var 70 %.", allowed) == ["70"]


def test_years_count_only_when_the_question_or_the_sources_name_them() -> None:
    answer = _service(None, "extractive").ask(Q)
    allowed = allowed_numbers("Hva var netto driftsresultat fra 2019 til 2020?", answer)
    assert guard("Fra 2019 til 2020 var det -679,4 mill. kr.", allowed) == []
    assert guard("I 2015 var det 2022 elever.", allowed) == ["2015", "2022"]


def test_citation_markers_are_not_figures() -> None:
    assert guard("Resultatet var -679,4 [1][2] og [12].", {-679.4}) == []
    assert guard("Se [1, 2] og [1–3].", set()) == []
    assert citation_markers("a [1] b [2, 3] c [1–4] d [10]") == [1, 2, 3, 1, 4, 10]
    assert bad_citations("Tallet [1] og [3].", 2) == [3]
    assert bad_citations("Tallet [0].", 2) == [0]
    assert bad_citations("Tallet [1][2].", 2) == []


def test_value_present_any_form() -> None:
    assert has_value("Det var −679,4 mill. kr.", -679.4)
    assert has_value("It was -679.4 million.", -679.4)
    assert not has_value("Det var 679,4 mill. kr.", -679.4)
    assert has_value("Tilskudd 1 878,6", 1878.6) and has_value("Tilskudd 1878,6", 1878.6)


# --------------------------------------------------------------------------- incremental guard


def test_prefix_guard_holds_back_a_number_until_it_is_complete() -> None:
    g = PrefixGuard({-679.4}, n_facts=1)
    shown = [g.feed(p) for p in ["  Resultatet var -6", "79", ",4", " mill. kr [", "1]", "."]]
    shown.append(g.finish())
    assert "".join(shown) == "Resultatet var -679,4 mill. kr [1]."
    assert shown[0] == "Resultatet var " and "-679,4" in shown[3]  # never "-6" or "-679" on its own
    assert all(not s.rstrip().endswith(("-6", "79")) for s in shown)


def test_prefix_guard_rejects_at_the_first_bad_number_or_marker() -> None:
    g = PrefixGuard({-679.4}, n_facts=1)
    assert g.feed("Resultatet var ") == "Resultatet var "
    assert g.feed("-680") == ""  # held: it may still grow
    with pytest.raises(Rejected, match="-680 not in the cited sources"):
        g.feed(" mill.")
    g = PrefixGuard({-679.4}, n_facts=1)
    with pytest.raises(Rejected, match=r"cites \[2\] but only 1 fact"):
        g.feed("Det var -679,4 [2] mill.")


def test_a_bad_number_mid_stream_stops_generation_and_replaces_the_streamed_text() -> None:
    model = StreamingFake(
        pieces=["Netto ", "driftsresultat ", "var ", "-680", " mill.", " kr", " [1].", "x", "y"], pulled=[]
    )
    deltas, final = _events(_service(model))
    assert "".join(deltas) == "Netto driftsresultat var "  # the bad figure never reached the stream
    assert final.replaces and final.answer.answer.startswith(EXTRACTIVE_START)
    assert "llm guard: number(s) -680 not in the cited sources" in final.answer.trace[-1]
    assert max(model.pulled) < 8  # generation stopped at the bad number


def test_length_stop_is_rejected() -> None:
    model = StreamingFake(
        pieces=["Netto driftsresultat i 2020 var -679,4 mill. kr [1], og"], finish_reason="length"
    )
    deltas, final = _events(_service(model))
    assert deltas and final.replaces
    assert "finish_reason 'length'" in final.answer.trace[-1] and final.answer.answer.startswith(
        EXTRACTIVE_START
    )
    # the same through ask (no streaming consumer)
    ans = _service(StreamingFake(pieces=["Netto driftsresultat var -679,4 [1]"], finish_reason="length")).ask(
        Q
    )
    assert "cut off at the token limit" in ans.trace[-1] and ans.answer.startswith(EXTRACTIVE_START)


def test_citing_a_fact_that_was_not_given_is_rejected() -> None:
    ans = _service(StreamingFake(pieces=["Netto driftsresultat i 2020 var -679,4 mill. kr [7]."])).ask(Q)
    assert "cites [7] but only 1 fact(s) were given" in ans.trace[-1]
    assert ans.answer.startswith(EXTRACTIVE_START)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("-679,4 mill. kr [1].", "not a sentence"),
        ("Hva var netto driftsresultat i 2020? Det var -679,4 mill. kr [1].", "repeats the question"),
        ("Svaret er -679,4 mill. kr [1]. Skriv det som en hel setning.", "repeats the prompt"),
        # the right number beside a made-up name (seen with SmolLM2 on a cold server)
        ("Svartighetsfölter i 2020 var -679,4 mill. kr [1].", "does not name what the number is"),
    ],
)
def test_degenerate_replies_are_rejected(reply: str, why: str) -> None:
    ans = _service(StreamingFake(pieces=[reply])).ask(Q)
    assert why in ans.trace[-1] and "extractive answer used" in ans.trace[-1]
    assert "reply: «" in ans.trace[-1]  # the rejected text is in the trace


def test_a_kept_answer_streams_and_ends_with_the_same_text() -> None:
    reply = ["Netto ", "driftsresultat ", "i regnskapet for 2020 ", "var −679,", "4 mill. kr ", "[1", "]."]
    model = StreamingFake(pieces=reply, stops=[])
    deltas, final = _events(_service(model))
    text = "".join(deltas)
    assert text == "".join(reply)
    # the report's own sign note follows the model's text
    assert not final.replaces and final.answer.answer.startswith(text + " Rapporten viser inntekter med minus")
    assert "\n\nKilder: [1] Årsrapport 2020, Eksempel kommune, Tabell 1" in final.answer.answer and final.answer.mode == "llm"
    assert final.answer.trace[-1].startswith("llm: answer written by the model")
    assert model.stops[-1] and "\n\n" in model.stops[-1] and len(model.stops[-1]) <= 4


def test_chain_stream_yields_deltas_then_the_final_answer() -> None:
    svc = _service(StreamingFake(pieces=["Netto driftsresultat i 2020 ", "var -679,4 mill. kr [1]."]))
    events = list(stream(svc.engine, Turn(Q), svc._llm_writer))
    assert [e.kind for e in events] == ["delta", "delta", "final"]
    extractive = list(_service(None, mode="extractive").stream(Q))
    assert [e.kind for e in extractive] == ["final"] and extractive[0].answer.mode == "extractive"


def test_bad_input_streams_one_final_message() -> None:
    svc = _service(StreamingFake(pieces=["x"]))
    events = list(svc.stream("   "))
    assert len(events) == 1 and events[0].kind == "final" and events[0].answer.abstained


def test_llm_max_tokens_setting_reaches_the_request() -> None:
    assert Settings().llm_max_tokens == 160
    assert Settings.from_env({"RAPPORT_LLM_MAX_TOKENS": "64"}).llm_max_tokens == 64
    model = make_chat_model(Settings(llm_base_url="http://x/v1", llm_max_tokens=64))
    assert model.max_tokens == 64


# --------------------------------------------------------------------------- time to first token


def test_time_to_first_token_is_measured_on_the_guarded_stream() -> None:
    first_delay, delay = 0.25, 0.04
    pieces = [
        "Netto ",
        "driftsresultat ",
        "i ",
        "regnskapet ",
        "for ",
        "2020 ",
        "var ",
        "-679,4 ",
        "mill. ",
        "kr ",
        "[1].",
    ]
    svc = _service(StreamingFake(pieces=pieces, first_delay_s=first_delay, delay_s=delay))
    t0 = time.perf_counter()
    first = None
    for ev in svc.stream(Q):
        if ev.kind == "delta" and first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    assert first is not None and first_delay <= first <= total  # not before the model's first piece
    assert (
        total >= first_delay + (len(pieces) - 1) * delay and total - first >= 0.8 * (len(pieces) - 1) * delay
    )

    figures = stream_timings(svc, [Q, Q, "Hva var likviditetsreserven i 2015?"], warmup=1)
    assert figures["questions"] == 3 and figures["streamed"] == 2
    assert figures["first_token_p50_ms"] >= first_delay * 1000
    assert figures["total_p50_ms"] >= figures["first_token_p50_ms"] + 0.8 * (len(pieces) - 1) * delay * 1000
    assert figures["outcomes"] == {"written": 2, "fallback": 0, "not_used": 1, "failed": 0}
    assert figures["first_text_p95_ms"] is not None and figures["replaced_after_streaming"] == 0


def test_bench_counts_fallbacks_and_their_reasons() -> None:
    svc = _service(StreamingFake(pieces=["Netto driftsresultat var ", "-680 mill. kr [1]."]))
    figures = stream_timings(svc, [Q, Q], warmup=0)
    assert figures["outcomes"]["fallback"] == 2 and figures["fallback_reasons"] == {
        "number not in the sources": 2
    }
    assert figures["replaced_after_streaming"] == 2
    assert llm_outcome(("llm: reply rejected (cut off at the token limit, finish_reason 'length'); x",)) == (
        "fallback",
        "cut off (finish_reason length)",
    )

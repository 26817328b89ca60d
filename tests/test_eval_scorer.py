"""The eval scorer on hand-made items and answers, and `run_eval` end to end with a fake service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.run import EvalError, ci_subset, load_eval_set, run_eval, service_error, split_file
from eval.scorer import (
    abstention_correct,
    must_contain_ok,
    numeric_correct,
    numeric_or_offered,
    parse_number,
    percentile,
    recall_at_k,
    score_item,
    summarize,
    summarize_all,
    table_correct,
)
from rag.records import Answer, Citation
from rapport.settings import Settings


def item(**kw):
    base = {"id": "x", "question": "Hva var netto driftsresultat?", "kind": "table_cell", "answer_number": -679.4,
            "unit": "mill. kr", "table": 1, "source_quote": "Netto driftsresultat -237,0 -679,4 442,4",
            "line": 350, "lang": "no"}
    base.update(kw)
    return base


def ans(value=None, *, abstained=False, table=None, text="", latency=10.0, cites=None):
    citations = cites if cites is not None else (
        [{"table": table, "row": "r", "column": "c", "chapter": None, "lines": [1, 1], "quote": "q"}] if table else []
    )
    return {"question": "q", "answer": text, "abstained": abstained, "value": value, "unit": None,
            "citations": citations, "lang": "no", "mode": "extractive", "latency_ms": latency}


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("raw", "expected"), [
    (-679.4, -679.4), (12529, 12529.0), ("1 878,6", 1878.6), ("-1 878,6", -1878.6),
    ("\u2212679,4", -679.4), ("1\u00a0058,0", 1058.0), ("7,02 %", 7.02), ("12 529", 12529.0),
    ("442.4", 442.4), (True, None), (None, None), ("", None), ("abc", None), ("1.234,5", None),
    (float("nan"), None),
])
def test_parse_number(raw, expected):
    assert parse_number(raw) == expected


def test_numeric_exact_and_tolerance_edges():
    it = item(answer_number=100.0)
    assert numeric_correct(it, ans(100.0))
    assert numeric_correct(it, ans(100.049))
    assert numeric_correct(it, ans(99.951))
    assert not numeric_correct(it, ans(100.051))
    assert not numeric_correct(it, ans(99.949))
    # 0.05 exactly is inside, despite float noise (679.45 - 679.4 = 0.05000000000001137)
    assert numeric_correct(item(answer_number=679.4), ans(679.45))


def test_numeric_sign_counts_unless_abs_ok():
    assert not numeric_correct(item(answer_number=-679.4), ans(679.4))
    assert numeric_correct(item(answer_number=-679.4, abs_ok=True), ans(679.4))
    assert numeric_correct(item(answer_number=679.4, abs_ok=True), ans(-679.4))
    assert not numeric_correct(item(answer_number=-679.4, abs_ok=True), ans(679.6))


def test_numeric_alt_numbers():
    it = item(answer_number=442.4, alt_numbers=[442])
    assert numeric_correct(it, ans(442.4))
    assert numeric_correct(it, ans(442.0))
    assert numeric_correct(it, ans(442.05))
    assert not numeric_correct(it, ans(442.2))
    # abs_ok applies to the alternatives too: -166.6 printed, "167" in the prose
    it = item(answer_number=-166.6, abs_ok=True, alt_numbers=[167])
    assert numeric_correct(it, ans(-167.0))
    assert numeric_correct(it, ans(166.6))
    assert not numeric_correct(item(answer_number=-166.6, alt_numbers=[167]), ans(-167.0))


def test_numeric_missing_value_abstention_and_not_applicable():
    it = item(answer_number=5.3)
    assert numeric_correct(it, ans(None)) is False
    assert numeric_correct(it, ans(5.3, abstained=True)) is False
    assert numeric_correct(item(kind="non_numeric", answer_number=None, table=None), ans(5.3)) is None


def test_a_right_number_offered_as_an_alternative_counts_as_one_click_away():
    def with_alts(answer, *values):
        return {**answer, "alternatives": [{"question": "q", "value": v, "unit": None, "citation": {}} for v in values]}

    it = item(answer_number=-679.4, abs_ok=True)
    assert numeric_or_offered(it, ans(-679.4)) is True  # answered right: no alternative needed
    assert numeric_or_offered(it, with_alts(ans(None, abstained=True), 237.0, "679,4")) is True  # sign aside, parsed
    assert numeric_or_offered(it, with_alts(ans(-237.0), -600.0, 442.4)) is False
    assert numeric_or_offered(it, ans(None, abstained=True)) is False  # nothing offered
    assert numeric_or_offered(item(answer_number=-679.4), with_alts(ans(None, abstained=True), 679.4)) is False
    assert numeric_or_offered(item(kind="non_numeric", answer_number=None, table=None), with_alts(ans(5.3), 5.3)) is None
    # summarised over the items with a number, beside numeric accuracy
    rows = [(it, with_alts(ans(None, abstained=True), -679.4)), (it, ans(-679.4)), (it, ans(1.0))]
    s = summarize([(i, a, score_item(i, a)) for i, a in rows])
    assert s["numeric_accuracy"] == pytest.approx(1 / 3) and s["numeric_or_offered"] == pytest.approx(2 / 3)
    assert s["numeric_or_offered_n"] == 3


def test_norwegian_numbers_never_compared_as_strings():
    # the same number printed differently is equal ...
    assert numeric_correct(item(answer_number=1878.6), ans("1 878,6"))
    assert numeric_correct(item(answer_number=1878.6), ans("1878,60"))
    assert numeric_correct(item(answer_number=12529), ans(12529.0))
    assert numeric_correct(item(answer_number="1 058,0"), ans(1058))
    # ... and strings that share a prefix or digits are not
    assert not numeric_correct(item(answer_number=1878.6), ans("1 878"))
    assert not numeric_correct(item(answer_number=18786), ans("1 878,6"))
    assert not numeric_correct(item(answer_number=1.5), ans("15"))
    # a comma decimal is never read as a thousands separator
    assert not numeric_correct(item(answer_number=1878), ans("1,878"))


def test_table_citation():
    it = item(table=7)
    assert table_correct(it, ans(1, table=7))
    assert not table_correct(it, ans(1, table=8))
    assert not table_correct(it, ans(1))  # no citation
    two = [{"table": None, "lines": [5, 5]}, {"table": 7, "lines": [9, 9]}]
    assert not table_correct(it, ans(1, cites=two))  # only the first citation counts
    assert table_correct(item(kind="prose_number", table=None), ans(1, table=7)) is None


def test_abstention_verdicts():
    unans = item(kind="unanswerable", answer_number=None, table=None)
    assert abstention_correct(unans, ans(None, abstained=True))
    assert not abstention_correct(unans, ans(3.0, abstained=True))  # abstained but still gave a number
    assert not abstention_correct(unans, ans(3.0))
    assert abstention_correct(item(), ans(1.0))
    assert not abstention_correct(item(), ans(None, abstained=True))


def test_abstention_precision_recall_and_answer_rate():
    unans = item(kind="unanswerable", answer_number=None, table=None, line=None)
    rows = [
        (unans, ans(None, abstained=True)),        # correct abstention
        (unans, ans(None, abstained=True)),        # correct abstention
        (unans, ans(4.0)),                          # answered an unanswerable question
        (item(), ans(None, abstained=True)),        # abstained on an answerable one
        (item(), ans(-679.4, table=1)),
        (item(), ans(-600.0, table=1)),
    ]
    s = summarize([(i, a, score_item(i, a)) for i, a in rows])
    assert s["abstention_precision"] == pytest.approx(2 / 3)
    assert s["abstention_recall"] == pytest.approx(2 / 3)
    assert s["answer_rate"] == pytest.approx(2 / 3)
    assert s["numeric_accuracy"] == pytest.approx(1 / 3) and s["numeric_accuracy_n"] == 3
    assert s["table_accuracy"] == pytest.approx(2 / 3)
    assert s["passed"] == pytest.approx(3 / 6)


def test_abstention_rates_undefined_without_denominator():
    s = summarize([(item(), ans(-679.4, table=1), score_item(item(), ans(-679.4, table=1)))])
    assert s["abstention_precision"] is None and s["abstention_recall"] is None
    assert s["answer_rate"] == 1.0


def test_must_contain_case_insensitive_and_all_needed():
    it = item(kind="non_numeric", answer_number=None, table=None, must_contain=["Geir B. Aga", "kommunedirektør"])
    assert must_contain_ok(it, ans(text="KOMMUNEDIREKTØR er geir b. aga."))
    assert must_contain_ok(it, ans(text="Kommunedirektør er Geir\u00a0B.\nAga."))
    assert not must_contain_ok(it, ans(text="Kommunedirektør er Geir Aga."))
    assert not must_contain_ok(it, ans(text="Geir B. Aga"))
    assert must_contain_ok(item(), ans(text="")) is None  # only for non_numeric items


def test_recall_at_k_boundaries():
    it = item(line=350)
    spans = [[1, 10], [340, 349], [351, 360], [350, 350], [300, 400]]
    assert recall_at_k(it, spans, 3) is False  # 349 and 351 are neighbours, not hits
    assert recall_at_k(it, spans, 4) is True   # a one-line span equal to the line
    assert recall_at_k(item(line=340), spans, 2) is True  # first line inclusive
    assert recall_at_k(item(line=349), spans, 2) is True  # last line inclusive
    assert recall_at_k(it, [], 4) is False
    class Source:
        lines = (350, 350)

    assert recall_at_k(it, [Source()], 1) is True  # objects with .lines work as well as pairs
    assert recall_at_k(item(kind="unanswerable", answer_number=None, table=None), spans, 4) is None
    assert recall_at_k(item(line=None), spans, 4) is None


def test_percentile_and_latency_summary():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    rows = [(item(), ans(-679.4, table=1, latency=ms), {}) for ms in (10, 20, 30, 40, 1000)]
    rows = [(i, a, score_item(i, a)) for i, a, _ in rows]
    s = summarize(rows)
    assert s["latency_p50_ms"] == 30
    assert s["latency_p95_ms"] == pytest.approx(808.0)


def test_summary_groups():
    rows = []
    for it in (item(id="a", table=1), item(id="b", table=2, lang="en"),
               item(id="c", kind="prose_number", table=None),
               item(id="d", kind="unanswerable", answer_number=None, table=None, line=None)):
        a = ans(it["answer_number"], table=it["table"]) if it["kind"] != "unanswerable" else ans(None, abstained=True)
        rows.append((it, a, score_item(it, a, [[350, 350]])))
    s = summarize_all(rows)
    assert s["overall"]["n"] == 4 and s["overall"]["numeric_accuracy"] == 1.0
    assert list(s["by_kind"]) == ["table_cell", "prose_number", "unanswerable"]
    assert set(s["by_table"]) == {"1", "2"} and s["by_table"]["2"]["n"] == 1
    assert s["by_lang"]["en"]["n"] == 1
    assert s["overall"]["recall@4"] == 1.0 and s["overall"]["recall@4_n"] == 3
    assert s["overall"]["abstention_recall"] == 1.0


# --------------------------------------------------------------------------- eval files


def test_the_dev_split_loads_and_the_ci_subset_follows_the_rule():
    items = load_eval_set(split_file("dev"))
    assert len(items) >= 200
    subset = ci_subset(items)
    per_kind = {k: [i["id"] for i in items if i["kind"] == k] for k in {i["kind"] for i in items}}
    assert [i["id"] for i in subset if i["kind"] == "unanswerable"] == per_kind["unanswerable"][::4]
    assert {i["kind"] for i in subset} == set(per_kind)
    assert {i["lang"] for i in subset} == {"no", "en"}
    with pytest.raises(EvalError, match="No split"):
        split_file("holdout")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_file_errors(tmp_path):
    good = json.dumps(item(id="g"))
    with pytest.raises(EvalError, match="not found"):
        load_eval_set(tmp_path / "nope.jsonl")
    with pytest.raises(EvalError, match=r"line 2: invalid JSON"):
        load_eval_set(_write(tmp_path / "a.jsonl", [good, '{"id": "b", "question": ']))
    with pytest.raises(EvalError, match=r"line 1: missing key\(s\) kind, line"):
        load_eval_set(_write(tmp_path / "b.jsonl", [json.dumps({"id": "m", "question": "q?", "answer_number": 1,
                                                                "table": None})]))
    with pytest.raises(EvalError, match="expected a JSON object"):
        load_eval_set(_write(tmp_path / "c.jsonl", ["[1, 2]"]))
    with pytest.raises(EvalError, match="kind 'other'"):
        load_eval_set(_write(tmp_path / "d.jsonl", [json.dumps(item(kind="other"))]))
    with pytest.raises(EvalError, match="answer_number must be a JSON number"):
        load_eval_set(_write(tmp_path / "e.jsonl", [json.dumps(item(answer_number="1 878,6"))]))
    with pytest.raises(EvalError, match="duplicate id 'g'"):
        load_eval_set(_write(tmp_path / "f.jsonl", [good, good]))
    with pytest.raises(EvalError, match="holds no items"):
        load_eval_set(_write(tmp_path / "g.jsonl", ["", "  "]))
    assert len(load_eval_set(_write(tmp_path / "h.jsonl", ["", good, ""]))) == 1  # blank lines are fine


def test_run_eval_reports_bad_file_before_building_anything(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", embedding="hash")
    with pytest.raises(EvalError, match="line 1: invalid JSON"):
        run_eval(settings, eval_file=_write(tmp_path / "bad.jsonl", ["{oops"]), echo=lambda s: None)
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------- end to end with a fake service


class FakeService:
    """Answers from a dict question -> (value, table, abstained, text); retrieves fixed spans."""

    def __init__(self, answers, spans):
        self.answers, self.spans, self.asked = answers, spans, []

    def ask(self, question, history=None):
        self.asked.append(question)
        if question not in self.answers:
            raise RuntimeError("boom")
        value, table, abstained, text = self.answers[question]
        cites = () if abstained else (Citation(report="r", table=None if table is None else str(table), row="row",
                                               column="2020", chapter="02 X", lines=(350, 350), quote="quote"),)
        return Answer(question, text, abstained, value, None, cites, "no", "extractive", latency_ms=12.5)

    def retrieve(self, question, k=8):
        return [tuple(s) for s in self.spans.get(question, [])[:k]]


def test_run_eval_end_to_end_with_fake_service(tmp_path):
    items = [
        item(id="a", question="Hva var netto driftsresultat i 2020?", abs_ok=True),                 # right
        item(id="b", question="Hvor mye var brutto driftsresultat?", answer_number=-990.3, line=343),  # wrong number
        item(id="c", question="Hvem er kommunedirektør?", kind="non_numeric", answer_number=None, table=None,
             must_contain=["Geir B. Aga"], line=209),                                                # right
        item(id="d", question="Hva var netto driftsresultat i 2015?", kind="unanswerable", answer_number=None,
             table=None, line=None),                                                                 # abstains
        item(id="e", question="Hvor mange elever var det?", answer_number=16181, table=17, line=2900),  # raises
    ]
    path = _write(tmp_path / "five.jsonl", [json.dumps(i, ensure_ascii=False) for i in items])
    service = FakeService(
        {
            items[0]["question"]: (679.4, 1, False, "Netto driftsresultat var -679,4 mill. kr."),
            items[1]["question"]: (-688.5, 1, False, "Brutto driftsresultat var -688,5 mill. kr."),
            items[2]["question"]: (None, None, False, "Kommunedirektør er Geir B. Aga."),
            items[3]["question"]: (None, None, True, "Det står ikke i rapporten."),
        },
        {items[0]["question"]: [[1, 5], [350, 350]], items[1]["question"]: [[1, 5]] * 4 + [[340, 345]]},
    )
    printed: list[str] = []
    out = tmp_path / "out" / "report.json"
    settings = Settings(data_dir=tmp_path / "data", embedding="hash")
    report = run_eval(settings, eval_file=path, out=out, baseline=True, echo=printed.append, service=service)

    assert service.asked == [i["question"] for i in items]
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["summary"]["overall"] == report["summary"]["overall"]
    o = report["summary"]["overall"]
    assert o["n"] == 5 and o["numeric_accuracy"] == pytest.approx(1 / 3) and o["numeric_accuracy_n"] == 3
    assert o["table_accuracy"] == pytest.approx(2 / 3)
    assert o["must_contain_rate"] == 1.0 and o["abstention_recall"] == 1.0 and o["abstention_precision"] == 1.0
    assert o["recall@4"] == pytest.approx(1 / 4) and o["recall@8"] == pytest.approx(2 / 4)
    assert o["errors"] == 1 and o["latency_p50_ms"] is not None
    by_id = {r["id"]: r for r in report["items"]}
    assert by_id["a"]["verdicts"]["passed"] and not by_id["b"]["verdicts"]["passed"]
    assert by_id["a"]["retrieved"] == [[1, 5], [350, 350]]
    assert by_id["e"]["answer"]["error"].startswith("RuntimeError")
    assert set(report["summary"]["by_kind"]) == {"table_cell", "non_numeric", "unanswerable"}
    assert set(report["summary"]["by_table"]) == {"1", "17"}
    base = report["summary"]["baseline"]
    assert "error" not in base, base
    assert base["recall@4_n"] == 4 and 0.0 <= base["recall@4"] <= 1.0 and base["chunks"] > 50
    assert base["ours_recall@4"] == pytest.approx(1 / 4)
    assert base["ratio_recall@4"] == (pytest.approx(0.25 / base["recall@4"], abs=1e-3) if base["recall@4"] else None)
    assert all("baseline_retrieved" in r for r in report["items"])
    text = "\n".join(printed)
    assert "Failures: 2 of 5" in text and "b (table_cell, numeric)" in text
    assert "expected: -990.3 mill. kr [tabell 1]" in text and "got:      -688.5" in text
    assert "WARNING: 1 of 5 answers were internal errors" in text
    assert "recall@4: ours 25.0%" in text

    # a second run reuses the stored baseline collection
    report2 = run_eval(settings, eval_file=path, baseline=True, echo=lambda s: None, service=service)
    assert report2["summary"]["baseline"]["reused_index"] is True
    assert report2["summary"]["baseline"]["recall@4"] == base["recall@4"]


def test_service_error_detection():
    assert service_error({"error": "x"})
    assert service_error({"trace": ["input: error"]})
    assert not service_error({"trace": ["resolve: cell"]})


def test_run_eval_without_index_builds_it_and_says_so(tmp_path):
    """The real service over the hash embedding: no index yet, so run_eval builds one first."""
    items = [item(id="a", question="Hva var netto driftsresultat i 2020?", abs_ok=True),
             item(id="u", question="Hva var netto driftsresultat i 2015?", kind="unanswerable",
                  answer_number=None, table=None, line=None)]
    path = _write(tmp_path / "two.jsonl", [json.dumps(i, ensure_ascii=False) for i in items])
    printed: list[str] = []
    settings = Settings(data_dir=tmp_path / "data", embedding="hash")
    report = run_eval(settings, eval_file=path, baseline=False, echo=printed.append)
    assert report["summary"]["overall"]["n"] == 2 and report["summary"]["overall"]["errors"] == 0
    assert all(r["retrieved"] for r in report["items"] if r["item"]["kind"] != "unanswerable")
    # the first run built the index of the bundled report into the empty data dir
    from ingest.pipeline import list_reports

    assert [r.id for r in list_reports(settings)] == ["baerum-2020"]


def test_baseline_line_spans():
    from eval.baseline import line_starts, span_of, split_report

    text = "ab\ncd\n\nef"
    starts = line_starts(text)
    assert starts == [0, 3, 6, 7]
    assert span_of(0, 2, starts) == (1, 1)
    assert span_of(0, 3, starts) == (1, 1)  # the newline belongs to line 1
    assert span_of(0, 4, starts) == (1, 2)
    assert span_of(3, 7, starts) == (2, 4)
    long_text = "\n".join(f"Linje {i} " + "ord " * 30 for i in range(1, 200))
    docs = split_report(long_text)
    lines = long_text.split("\n")
    assert len(docs) > 10
    for d in docs:
        first, last = d.metadata["lines_first"], d.metadata["lines_last"]
        body = d.page_content.split("\n")
        assert body[0] in lines[first - 1] and body[-1] in lines[last - 1]

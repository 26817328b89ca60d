"""Sanity checks for the hand-written evaluation set (eval/eval_set.jsonl).

The eval set is written by reading the annual report; these tests only check that it is
well-formed and that every cited quote / number really is where the item says it is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
REPORT = ROOT / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
EVAL_FILES = {"eval_set": ROOT / "eval" / "eval_set.jsonl", "holdout": ROOT / "eval" / "holdout.jsonl"}
# minimum size and coverage per file: the dev set (tuned on) and the held-out set (never tuned on)
MINIMUMS = {
    "eval_set": {"items": 150, "per_big_table": 3, "per_table": 2, "unanswerable": 15, "non_numeric": 10},
    "holdout": {"items": 70, "per_big_table": 1, "per_table": 1, "unanswerable": 10, "non_numeric": 7},
}

REQUIRED_KEYS = {"id", "question", "kind", "answer_number", "unit", "table", "source_quote", "line", "lang"}
KINDS = {"table_cell", "prose_number", "table_compare", "non_numeric", "unanswerable"}
TABLE_KINDS = {"table_cell", "table_compare"}
BIG_TABLES = {1, 3, 4, 6, 7, 10, 15, 16, 17, 24, 27}
N_TABLES = 27

SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
# A thousands separator in the report is a normal space, but allow other spacing variants (or none).
SEP = "[ \u00a0\u202f]?"
MINUS = "[-\u2212]"


# --------------------------------------------------------------------------- loading


def _raw_lines(name: str) -> list[str]:
    return [ln for ln in EVAL_FILES[name].read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.fixture(scope="module", params=list(EVAL_FILES))
def eval_file(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def report_lines() -> list[str]:
    # 1-based line N of the report is report_lines[N - 1]
    return REPORT.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def items(eval_file) -> list[dict]:
    return [json.loads(ln) for ln in _raw_lines(eval_file)]


# --------------------------------------------------------------------------- number helpers


def render_no(value: float, decimals: int) -> str:
    """Render |value| Norwegian style: '1 878,6' (space thousands separator, comma decimals)."""
    s = f"{abs(value):,.{decimals}f}"
    return s.replace(",", " ").replace(".", ",")


def _renderings(value: float) -> list[str]:
    """All renderings of |value| with 0-3 decimals that do not change the value."""
    out = []
    for d in range(4):
        if abs(round(value, d) - value) < 1e-9:
            out.append(render_no(value, d))
    return out


def _pattern(rendered: str, negative: bool) -> re.Pattern[str]:
    body = SEP.join(re.escape(group) for group in rendered.split(" "))
    sign = MINUS if negative else f"(?<!{MINUS})"
    # Not glued to a preceding digit/decimal; may be followed by one footnote marker
    # (superscript, or a single digit glued on by the PDF extraction as in "4222" = 422 + note 2).
    return re.compile(rf"(?<![\d,]){sign}{body}(?:[{SUPERSCRIPTS}]|\d)?(?!\d)(?!,\d)")


def number_in_line(value: float, line: str, abs_ok: bool = False) -> bool:
    signed = [value]
    if abs_ok:
        signed += [abs(value), -abs(value)]
    for v in signed:
        for rendered in _renderings(v):
            if _pattern(rendered, v < 0).search(line):
                return True
    return False


_CHAIN = re.compile(r"(\d+)((?:[ \u00a0\u202f]\d{3}(?!\d))*)(,\d+)?")


def numbers_in_line(line: str) -> set[float]:
    """Every number the line could contain, including every reading of space-grouped digits
    ("398 419 449 360" yields 398, 398419, 419, 419449, 449, 449360, ...)."""
    found: set[float] = set()
    for start in range(len(line)):
        if not line[start].isdigit() or (start > 0 and (line[start - 1].isdigit() or line[start - 1] == ",")):
            continue
        m = _CHAIN.match(line, start)
        if not m:
            continue
        first = m.group(1)
        groups = [g for g in re.split(r"[ \u00a0\u202f]", m.group(2)) if g]
        negative = start > 0 and line[start - 1] in "-\u2212"
        for k in range(len(groups) + 1):
            digits = first + "".join(groups[:k])
            values = [float(digits)]
            if k == len(groups) and m.group(3):
                values.append(float(digits + "." + m.group(3)[1:]))
            for v in values:
                found.add(-v if negative else v)
    return found


def difference_in_line(value: float, line: str) -> bool:
    """True when |value| is the difference between two numbers printed on the line."""
    nums = sorted(numbers_in_line(line))
    target = abs(value)
    return any(abs(abs(a - b) - target) < 1e-6 for i, a in enumerate(nums) for b in nums[i + 1 :])


def test_number_helpers():
    assert render_no(-1878.6, 1) == "1 878,6"
    assert render_no(12529, 0) == "12 529"
    assert number_in_line(-1878.6, "Rammetilskudd -1 878,6 -1 994,0 115,4")
    assert not number_in_line(1878.6, "Rammetilskudd -1 878,6 -1 994,0 115,4")
    assert number_in_line(1878.6, "Rammetilskudd -1 878,6 -1 994,0 115,4", abs_ok=True)
    assert number_in_line(7.02, "Kommunens sykefravær for 2020 var 7,02 prosent, i")
    assert number_in_line(422, "Barnehageplasser for barn med særskilte behov 412 4222 463")
    assert number_in_line(17, "Akuttvedtak 25 174 15")
    assert number_in_line(73, "Antall bosatte flyktninger 110 81 731")
    assert number_in_line(155, "Dagaktivitetsplasser 446 418 380 133 155¹ 155")
    assert number_in_line(1058.0, "Andel fast ansatte totalt 1 058,0¹ 1 389 14,1 %")
    assert not number_in_line(12, "Total vannproduksjon (mill. m3) 13,6² 12,2 13,0²")
    assert number_in_line(449360, "Besøk 398 419 449 360 307 528")
    assert difference_in_line(325, "Boligproduksjon 538 365 235 444 719 663 700 696 623 971 639 401 726")
    assert difference_in_line(-74, "Elever 16 181 16 165 16 091")
    assert not difference_in_line(500, "Elever 16 181 16 165 16 091")


# --------------------------------------------------------------------------- structure


def test_every_line_is_json_object_with_required_keys(eval_file):
    problems = []
    for i, raw in enumerate(_raw_lines(eval_file), start=1):
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"line {i}: invalid JSON ({exc})")
            continue
        if not isinstance(item, dict):
            problems.append(f"line {i}: not an object")
            continue
        missing = REQUIRED_KEYS - item.keys()
        if missing:
            problems.append(f"line {i} ({item.get('id')}): missing {sorted(missing)}")
        if item.get("kind") not in KINDS:
            problems.append(f"line {i} ({item.get('id')}): bad kind {item.get('kind')!r}")
        if item.get("lang") not in {"no", "en"}:
            problems.append(f"line {i} ({item.get('id')}): bad lang {item.get('lang')!r}")
    assert not problems, "\n".join(problems)


def test_field_types(items):
    problems = []
    for it in items:
        iid = it["id"]
        if not isinstance(iid, str) or not iid:
            problems.append(f"{iid!r}: id must be a non-empty string")
        if not isinstance(it["question"], str) or len(it["question"].strip()) < 8:
            problems.append(f"{iid}: question too short")
        num = it["answer_number"]
        if num is not None and (isinstance(num, bool) or not isinstance(num, int | float)):
            problems.append(f"{iid}: answer_number must be a number or null")
        if it["unit"] is not None and not isinstance(it["unit"], str):
            problems.append(f"{iid}: unit must be a string or null")
        if "abs_ok" in it and not isinstance(it["abs_ok"], bool):
            problems.append(f"{iid}: abs_ok must be bool")
        alts = it.get("alt_numbers")
        if alts is not None and (
            not isinstance(alts, list)
            or any(isinstance(a, bool) or not isinstance(a, int | float) for a in alts)
        ):
            problems.append(f"{iid}: alt_numbers must be a list of numbers")
        mc = it.get("must_contain")
        if mc is not None and (
            not isinstance(mc, list) or not mc or not all(isinstance(s, str) and s for s in mc)
        ):
            problems.append(f"{iid}: must_contain must be a non-empty list of strings")
        quote, line = it["source_quote"], it["line"]
        if quote is None:
            if line is not None:
                problems.append(f"{iid}: line must be null when source_quote is null")
        else:
            if not isinstance(quote, str) or not 10 <= len(quote) <= 80:
                problems.append(f"{iid}: source_quote must be a string of 10-80 characters")
            if isinstance(line, bool) or not isinstance(line, int):
                problems.append(f"{iid}: line must be an int")
    assert not problems, "\n".join(problems)


def test_ids_unique(items):
    dupes = [i for i, n in Counter(it["id"] for it in items).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_questions_unique(items):
    dupes = [q for q, n in Counter(it["question"].strip().lower() for it in items).items() if n > 1]
    assert not dupes, f"duplicate questions: {dupes}"


def test_enough_items(items, eval_file):
    assert len(items) >= MINIMUMS[eval_file]["items"]


def test_holdout_questions_are_not_dev_questions():
    dev = {json.loads(ln)["question"].strip().lower() for ln in _raw_lines("eval_set")}
    held = [json.loads(ln)["question"].strip().lower() for ln in _raw_lines("holdout")]
    assert not [q for q in held if q in dev]


def test_kind_specific_fields(items):
    problems = []
    for it in items:
        iid, kind, table, num = it["id"], it["kind"], it["table"], it["answer_number"]
        if kind in TABLE_KINDS:
            if isinstance(table, bool) or not isinstance(table, int) or not 1 <= table <= N_TABLES:
                problems.append(f"{iid}: table must be an int 1..{N_TABLES}")
            if num is None:
                problems.append(f"{iid}: table item needs answer_number")
        elif table is not None:
            problems.append(f"{iid}: table must be null for kind {kind}")
        if kind == "prose_number" and num is None:
            problems.append(f"{iid}: prose_number needs answer_number")
        if kind in {"non_numeric", "unanswerable"} and num is not None:
            problems.append(f"{iid}: answer_number must be null for kind {kind}")
        if kind == "non_numeric" and not it.get("must_contain"):
            problems.append(f"{iid}: non_numeric needs must_contain")
        if kind != "unanswerable" and it["source_quote"] is None:
            problems.append(f"{iid}: answerable items need a source_quote")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- grounding in the report


def test_source_quote_is_on_the_given_line(items, report_lines):
    problems = []
    for it in items:
        quote, line = it["source_quote"], it["line"]
        if quote is None:
            continue
        if not 1 <= line <= len(report_lines):
            problems.append(f"{it['id']}: line {line} out of range")
            continue
        if quote not in report_lines[line - 1]:
            elsewhere = [n for n, text in enumerate(report_lines, start=1) if quote in text]
            problems.append(f"{it['id']}: quote not on line {line} (found on {elsewhere}): {quote!r}")
    assert not problems, "\n".join(problems)


def test_answer_number_is_printed_on_the_quoted_line(items, report_lines):
    problems = []
    for it in items:
        num = it["answer_number"]
        if num is None or it["line"] is None:
            continue
        text = report_lines[it["line"] - 1]
        if number_in_line(num, text, abs_ok=it.get("abs_ok", False)):
            continue
        # A change between two years may be computed from two cells of the quoted row.
        if it["kind"] == "table_compare" and difference_in_line(num, text):
            continue
        problems.append(f"{it['id']}: {num} not found on line {it['line']}: {text!r}")
    assert not problems, "\n".join(problems)


def test_table_items_quote_a_line_below_their_caption(items, report_lines):
    """A table item's line must come after the caption "Tabell N viser" of its table."""
    captions = {}
    for n, text in enumerate(report_lines, start=1):
        m = re.match(r"\s*Tabell (\d+) viser", text)
        if m:
            captions.setdefault(int(m.group(1)), n)
    assert set(captions) == set(range(1, N_TABLES + 1))
    problems = [
        f"{it['id']}: line {it['line']} is before the caption of Tabell {it['table']}"
        for it in items
        if it["kind"] in TABLE_KINDS and it["line"] < captions[it["table"]]
    ]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- coverage


def test_all_tables_covered(items, eval_file):
    per_table = Counter(it["table"] for it in items if it["table"] is not None)
    missing = [t for t in range(1, N_TABLES + 1) if t not in per_table]
    assert not missing, f"tables without items: {missing}"
    need = MINIMUMS[eval_file]
    thin = [
        (t, per_table[t])
        for t in range(1, N_TABLES + 1)
        if per_table[t] < (need["per_big_table"] if t in BIG_TABLES else need["per_table"])
    ]
    assert not thin, f"tables with too few items: {thin}"


def test_kind_and_language_coverage(items, eval_file):
    kinds = Counter(it["kind"] for it in items)
    assert kinds["unanswerable"] >= MINIMUMS[eval_file]["unanswerable"], kinds
    assert kinds["non_numeric"] >= MINIMUMS[eval_file]["non_numeric"], kinds
    assert kinds["prose_number"] >= 10, kinds
    assert kinds["table_compare"] >= 8, kinds
    n_en = sum(it["lang"] == "en" for it in items)
    assert n_en >= 0.10 * len(items), f"only {n_en} English items of {len(items)}"

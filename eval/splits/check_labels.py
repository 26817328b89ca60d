"""Check a file of labeled questions against the report text.

Usage: python3 check_labels.py FILE.jsonl
Reads only report.txt (next to this script) and FILE.jsonl. Prints one line per problem and a
summary of the mix (kinds, languages). Exit code 1 when a problem was found.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINES = (HERE / "report.txt").read_text(encoding="utf-8").splitlines()
KINDS = {"table_cell", "table_compare", "prose_number", "non_numeric", "unanswerable", "overview"}
REQUIRED = ("id", "question", "kind", "answer_number", "unit", "table", "source_quote", "line", "lang")


def norm(s: str) -> str:
    s = s.replace("\u2212", "-").replace("\u00ad", "").replace("¬", "")
    s = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]", "", s)
    return " ".join(s.split())


def _formats(x: float) -> set[str]:
    out = set()
    for d in range(0, 4):
        if abs(round(x, d) - x) < 1e-9:
            whole, _, frac = f"{x:.{d}f}".partition(".")
            groups = []
            while len(whole) > 3:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            groups.insert(0, whole)
            out.add(" ".join(groups) + ("," + frac if frac else ""))
            out.add("".join(groups) + ("," + frac if frac else ""))
    return out


def printed(want: float, text: str) -> bool:
    """Is the number printed in text (sign ignored, Norwegian format, space-grouped thousands)?"""
    text = norm(text)
    return any(re.search(rf"(?<![\d,]){re.escape(f)}(?![\d]|,\d)", text) for f in _formats(abs(want)))


def main(path: str) -> int:
    problems = 0
    kinds: Counter = Counter()
    langs: Counter = Counter()
    ids = set()
    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            print(f"line {n}: invalid JSON: {exc}")
            problems += 1
            continue
        where = f"line {n} ({item.get('id')})"
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            print(f"{where}: missing {missing}")
            problems += 1
            continue
        if item["id"] in ids:
            print(f"{where}: duplicate id")
            problems += 1
        ids.add(item["id"])
        kind = item["kind"]
        kinds[kind] += 1
        langs[item["lang"]] += 1
        if kind not in KINDS:
            print(f"{where}: kind {kind!r} unknown")
            problems += 1
            continue
        if item["lang"] not in ("no", "en"):
            print(f"{where}: lang must be 'no' or 'en'")
            problems += 1
        if kind == "unanswerable":
            if item["answer_number"] is not None or item["line"] is not None:
                print(f"{where}: unanswerable items have answer_number null and line null")
                problems += 1
            continue
        line = item["line"]
        if not isinstance(line, int) or not 1 <= line <= len(LINES):
            print(f"{where}: line must be a line number of report.txt")
            problems += 1
            continue
        quote = item["source_quote"]
        if not isinstance(quote, str) or not quote.strip():
            print(f"{where}: source_quote must be text copied from the report")
            problems += 1
            continue
        window = norm(" ".join(LINES[max(0, line - 3): line + 2]))
        if norm(quote) not in window:
            print(f"{where}: source_quote not found at line {line} (copy it verbatim from that line; "
                  f"it may continue onto the next line)")
            problems += 1
        if kind in ("table_cell", "prose_number"):
            want = item["answer_number"]
            if not isinstance(want, int | float):
                print(f"{where}: answer_number must be a number")
                problems += 1
            elif not printed(want, quote):
                print(f"{where}: answer_number {want} is not printed in source_quote")
                problems += 1
        if kind in ("table_cell", "table_compare") and not isinstance(item["table"], int | str):
            print(f"{where}: table must be the table's number as printed")
            problems += 1
        if kind == "table_compare" and not isinstance(item["answer_number"], int | float):
            print(f"{where}: table_compare needs the computed answer_number")
            problems += 1
        if kind == "non_numeric":
            must = item.get("must_contain")
            if not must or not all(isinstance(s, str) and norm(s).lower() in window.lower() for s in must):
                print(f"{where}: must_contain strings must be copied from the source lines")
                problems += 1
        if kind == "overview":
            rng = item.get("line_range")
            if not (isinstance(rng, list) and len(rng) == 2 and rng[0] <= line <= rng[1]):
                print(f"{where}: overview items need line_range [first, last] that contains line")
                problems += 1
    total = sum(kinds.values())
    print(f"\n{total} items; kinds: {dict(kinds)}; languages: {dict(langs)}")
    if total:
        print(f"unanswerable {kinds['unanswerable'] / total:.0%}, English {langs['en'] / total:.0%}")
    print("OK" if not problems else f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

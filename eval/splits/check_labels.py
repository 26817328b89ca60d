"""Check a file of labeled questions against the report text.

Usage: python3 check_labels.py FILE.jsonl [REPORT.txt]
Reads only the report (default: report.txt next to this script, else the bundled report) and
FILE.jsonl. Prints one line per problem and a summary of the mix (kinds, languages). Exit code 1
when a problem was found. ``problems(path, lines)`` is the same check for tests.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED = HERE.parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
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
    # a footnote number may be glued on by the PDF extraction ("4222" = 422 and note 2)
    return any(re.search(rf"(?<![\d,]){re.escape(f)}\d?(?![\d]|,\d)", text) for f in _formats(abs(want)))


def report_lines(report: str | None = None) -> list[str]:
    path = Path(report) if report else (HERE / "report.txt" if (HERE / "report.txt").is_file() else BUNDLED)
    return path.read_text(encoding="utf-8").splitlines()


def problems(path: str | Path, lines: list[str]) -> tuple[list[str], Counter, Counter]:
    """(one message per problem, kinds, languages) of a labeled-question file."""
    found: list[str] = []
    kinds: Counter = Counter()
    langs: Counter = Counter()
    ids: set = set()
    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            found.append(f"line {n}: invalid JSON: {exc}")
            continue
        where = f"line {n} ({item.get('id')})"
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            found.append(f"{where}: missing {missing}")
            continue
        if item["id"] in ids:
            found.append(f"{where}: duplicate id")
        ids.add(item["id"])
        kind = item["kind"]
        kinds[kind] += 1
        langs[item["lang"]] += 1
        if kind not in KINDS:
            found.append(f"{where}: kind {kind!r} unknown")
            continue
        if item["lang"] not in ("no", "en"):
            found.append(f"{where}: lang must be 'no' or 'en'")
        if kind == "unanswerable":
            if item["answer_number"] is not None:
                found.append(f"{where}: unanswerable items have answer_number null")
            continue
        line = item["line"]
        if not isinstance(line, int) or not 1 <= line <= len(lines):
            found.append(f"{where}: line must be a line number of report.txt")
            continue
        quote = item["source_quote"]
        if not isinstance(quote, str) or not quote.strip():
            found.append(f"{where}: source_quote must be text copied from the report")
            continue
        window = norm(" ".join(lines[max(0, line - 3): line + 2]))
        if norm(quote) not in window:
            found.append(f"{where}: source_quote not found at line {line} (copy it verbatim from that line; "
                  f"it may continue onto the next line)")
        if kind in ("table_cell", "prose_number"):
            want = item["answer_number"]
            if not isinstance(want, int | float):
                found.append(f"{where}: answer_number must be a number")
            elif not printed(want, quote):
                found.append(f"{where}: answer_number {want} is not printed in source_quote")
        if kind in ("table_cell", "table_compare") and not isinstance(item["table"], int | str):
            found.append(f"{where}: table must be the table's number as printed")
        if kind == "table_compare" and not isinstance(item["answer_number"], int | float):
            found.append(f"{where}: table_compare needs the computed answer_number")
        if kind == "non_numeric":
            must = item.get("must_contain")
            if not must or not all(isinstance(s, str) and norm(s).lower() in window.lower() for s in must):
                found.append(f"{where}: must_contain strings must be copied from the source lines")
        if kind == "overview":
            rng = item.get("line_range")
            if not (isinstance(rng, list) and len(rng) == 2 and rng[0] <= line <= rng[1]):
                found.append(f"{where}: overview items need line_range [first, last] that contains line")

    return found, kinds, langs


def main(path: str, report: str | None = None) -> int:
    found, kinds, langs = problems(path, report_lines(report))
    for message in found:
        print(message)
    total = sum(kinds.values())
    print(f"\n{total} items; kinds: {dict(kinds)}; languages: {dict(langs)}")
    if total:
        print(f"unanswerable {kinds['unanswerable'] / total:.0%}, English {langs['en'] / total:.0%}")
    print("OK" if not found else f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))

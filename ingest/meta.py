"""What a report is, read from its text: municipality, year, title and a short id.

The municipality is the 'X kommune' the text names most; the year is the one in the title on
the first pages ('Årsrapport 2020', 'Årsberetning 2021'), else the latest year the table headers
show; the title is the line that holds that title phrase. The id is an ASCII slug of the
municipality's name and the year ('baerum-2020').
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from ingest.records import ReportMeta
from ingest.text import clean_text

_TITLE_RE = re.compile(
    r"(?i)\b(?:årsrapport|årsberetning|årsmelding|årsregnskap|annual report)(?:\s+for)?\s+((?:19|20)\d{2})\b"
)
_KOMMUNE_RE = re.compile(r"\b((?:[A-ZÆØÅ][a-zæøåA-ZÆØÅ-]+)(?:[ -](?:og|i|på)?\s?[A-ZÆØÅ][a-zæøå-]+)*) kommune\b")
# words that start a sentence before 'kommune' without naming one ('Hver kommune', 'Denne kommune')
_NOT_NAMES = {"Hver", "Denne", "Den", "En", "Vår", "Ny", "Annen", "Enhver", "Samme", "Til", "Fremtidens", "Revidere",
              "Klimaklok", "Egen", "Hele", "Hvilken", "Din", "Også", "Og", "I", "Som", "At"}
_YEAR_RE = re.compile(r"\b((?:19|20)\d{2})\b")
FIRST_PAGES = 250  # lines in which the report's title is looked for
_ASCII = {"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"}


def slug(text: str) -> str:
    """'Bærum' -> 'baerum', 'Nordre Follo' -> 'nordre-follo' (ASCII, lower case, dashes)."""
    text = "".join(_ASCII.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def municipality(lines: list[str]) -> str | None:
    """The 'X kommune' the text names most."""
    counts: Counter[str] = Counter()
    for line in lines:
        for m in _KOMMUNE_RE.finditer(clean_text(line)):
            name = m.group(1)
            words = name.split()
            while words and words[0] in _NOT_NAMES:
                words = words[1:]
            if words:
                counts[" ".join(words)] += 1
    if not counts:
        return None
    return f"{counts.most_common(1)[0][0]} kommune"


_PAGE_DECOR = re.compile(r"(?i)^\d{1,4}\s*[|·–]\s*|\s*[|·–]\s*\d{1,4}$|\s*[|·–-]?\s*\bside\s+\d{1,4}(?:\s+av\s+\d{1,4})?")


def _title(lines: list[str]) -> tuple[str | None, int | None]:
    """The first short line on the first pages that names the report and its year, page-number
    decoration dropped ('6 | ÅRSRAPPORT 2020' -> 'Årsrapport 2020')."""
    for line in lines[:FIRST_PAGES]:
        text = " ".join(clean_text(line).split())
        m = _TITLE_RE.search(text)
        if m and len(text) <= 80:
            text = _PAGE_DECOR.sub("", text).strip(" |·–-")
            if text.isupper():
                text = text[:1] + text[1:].lower()
            return text, int(m.group(1))
    return None, None


def _latest_header_year(lines: list[str]) -> int | None:
    """The latest year printed in a line of column names ('Regnskap 2021 Budsjett 2021')."""
    years = []
    for line in lines:
        text = clean_text(line).strip()
        found = _YEAR_RE.findall(text)
        words = text.split()
        # a header line: short, and its years are column names, not a sentence's
        if found and len(words) <= 12 and not text.endswith((".", ",", ":")) and not re.search(r"\d,\d", text):
            years.extend(int(y) for y in found)
    return max(years) if years else None


def read_meta(lines: list[str], source_name: str) -> ReportMeta:
    """Municipality, year, title and id of the report in `lines`."""
    name = municipality(lines)
    title, year = _title(lines)
    if year is None:
        year = _latest_header_year(lines)
    if title is None:
        title = next((" ".join(clean_text(x).split()) for x in lines if x.strip()), Path(source_name).stem)
    base = slug(name.removesuffix(" kommune")) if name else slug(Path(source_name).stem)
    ident = f"{base}-{year}" if year is not None else base
    return ReportMeta(ident or "rapport", title, name, year)

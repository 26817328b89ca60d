"""What a report is (municipality, year, title, id), read from its own text."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from ingest.records import ReportMeta

_MUNICIPALITY = re.compile(r"\b([A-ZÆØÅ][a-zæøå]+(?:-[A-ZÆØÅ][a-zæøå]+)?) kommunes?\b")
_TITLE = re.compile(r"\b(Årsrapport|Årsberetning|Årsmelding|Annual report)\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def slug(text: str) -> str:
    """ASCII, lower case, dashes: 'Bærum 2020' -> 'baerum-2020'."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "rapport"


def read_meta(lines: Sequence[str], source_name: str) -> ReportMeta:
    """Municipality: the most named «X kommune»; year: from a title such as «Årsrapport 2020»
    on the first pages, else the year most printed in the report; title: that title line, else
    the source file's name; id: slug of municipality and year."""
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(m.group(1) for m in _MUNICIPALITY.finditer(line))
    municipality = f"{counts.most_common(1)[0][0]} kommune" if counts else None
    title = year = None
    for line in lines[:400]:
        m = _TITLE.search(line)
        if m:
            title, year = f"{m.group(1)[0].upper()}{m.group(1)[1:].lower()} {m.group(2)}", int(m.group(2))
            break
    if year is None:
        years = Counter(int(y) for line in lines for y in _YEAR.findall(line))
        year = years.most_common(1)[0][0] if years else None
    if title is None:
        title = re.sub(r"\.[A-Za-z0-9]+$", "", source_name)
    place = municipality.split()[0] if municipality else re.sub(r"\.[A-Za-z0-9]+$", "", source_name)
    return ReportMeta(id=slug(f"{place} {year or ''}"), title=title, municipality=municipality, year=year)

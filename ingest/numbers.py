"""Norwegian figures as the reports print them: '-1 878,6', '−6 525,6' (U+2212), '- 13 012 356',
'7,02 %', '196,2 mill.'. One module for reading and writing them, used everywhere.

Babel's parse_decimal/format_decimal (locale nb_NO) were measured against the report's formats:
they reject the U+2212 minus and a trailing '%', and format with a no-break space, so the few
lines here are the simpler, exact tool.
"""

from __future__ import annotations

import re

from ingest.text import _SUPER_RE, clean_text


def parse_no_number(raw: str) -> float | None:
    """'-1 878,6' -> -1878.6, '7,02 %' -> 7.02, '196,2 mill.' -> 196.2; None if no number."""
    text = clean_text(raw).strip()
    text = _SUPER_RE.sub("", text)
    m = re.match(r"^([-–]?)\s*(\d[\d ]*)(?:,(\d+))?", text)
    if not m:
        return None
    sign, whole, dec = m.groups()
    digits = whole.replace(" ", "")
    if not digits:
        return None
    value = float(digits + ("." + dec if dec else ""))
    return -value if sign else value


def decimals_of(raw: str) -> int:
    """How many decimals a figure is printed with: '1 759,0' -> 1, '-386,75' -> 2, '12 529' -> 0."""
    m = re.search(r",(\d+)", raw)
    return len(m.group(1)) if m else 0


def format_no_number(value: float, decimals: int = 0, group: bool = True) -> str:
    """Render Norwegian style: -1878.6 -> '-1 878,6'."""
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", " ") if group else text.replace(",", "")
    text = text.replace(".", ",")
    return ("-" if value < 0 and float(text.replace(" ", "").replace(",", ".")) != 0 else "") + text

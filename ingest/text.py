"""Layout noise and Norwegian number formats.

The report is a PDF text extraction: soft hyphens print as '¬', odd spaces appear, footnote
markers are superscripts or ASCII digits glued to words. Raw text is kept for quoting; the
cleaned form is what gets indexed.
"""

from __future__ import annotations

import re

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUPERSCRIPT_TO_DIGIT = {s: str(i) for i, s in enumerate(SUPERSCRIPTS)}
_SUPER_RE = re.compile(f"[{SUPERSCRIPTS}]+")
_ODD_SPACES = re.compile("[\u00a0\u2007\u2009\u202f\u200a\u2002\u2003\u2004\u2005\u2006]")
_MINUS = re.compile("[\u2212]")


def clean_text(text: str) -> str:
    """Text for indexing: soft hyphens joined, odd spaces normalised, superscripts dropped."""
    text = text.replace("¬", "").replace("\u00ad", "")
    text = _ODD_SPACES.sub(" ", text)
    text = _MINUS.sub("-", text)
    return text


def strip_superscripts(text: str) -> tuple[str, list[str]]:
    """Remove superscript footnote markers; return the text and the markers as ASCII digits."""
    markers = ["".join(SUPERSCRIPT_TO_DIGIT[c] for c in m) for m in _SUPER_RE.findall(text)]
    return _SUPER_RE.sub("", text), markers


def join_wrapped_lines(lines: list[str]) -> str:
    """Join lines of one sentence: a line-end hyphen before a lower-case word is a break inside a word."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        first_word = line.split()[0] if line.split() else ""
        if out.endswith("-") and not out.endswith(" -") and out[-2:-1].isdigit():
            out = out + line  # 'Covid-19-' + 'pandemien'
        elif out.endswith("-") and line[:1].islower() and not out.endswith(" -") and first_word not in {"og", "eller", "til"}:
            out = out[:-1] + line
        elif out:
            out = out + " " + line
        else:
            out = line
    return re.sub(r"\s+", " ", out).strip()




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


def format_no_number(value: float, decimals: int = 0, group: bool = True) -> str:
    """Render Norwegian style: -1878.6 -> '-1 878,6'."""
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", " ") if group else text.replace(",", "")
    text = text.replace(".", ",")
    return ("-" if value < 0 and float(text.replace(" ", "").replace(",", ".")) != 0 else "") + text

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

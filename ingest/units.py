"""Units of a table as printed in its caption, header or a line of their own.

'Alle tall i tusen kroner', 'Beløp i 1 000 kr', 'Tall i hele tusen', 'Mill. kr', '(i 1000 kr)',
'NOK 1000'. The unit is kept as printed (whitespace normalised); its digits ('1 000') are never
a table value.
"""

from __future__ import annotations

import re

_AMOUNT = r"(?:hele\s+)?(?:tusen|1\s?000|1000|millioner|mill\.?|milliarder|mrd\.?)"
_CURRENCY = r"(?:kroner|kr\.?|NOK)"
UNIT_PHRASE_RE = re.compile(
    rf"""(?ix)(?<![\w.(])(?:
        (?:alle\s+)?(?:tall|beløp|beløpene|tallene)(?:\s+er)?(?:\s+(?:oppgitt|angitt|vist|gitt))?\s+i\s+
            (?:{_AMOUNT}(?:\s+{_CURRENCY})?|{_CURRENCY}|prosent)
      | (?:i\s+)?{_AMOUNT}\s+{_CURRENCY}
      | NOK\s*1\s?000 | 1\s?000\s*NOK
    )(?![\w])"""
)


def find_unit(text: str) -> re.Match[str] | None:
    """The first unit phrase in a caption or header text."""
    return UNIT_PHRASE_RE.search(text)


def unit_text(match: re.Match[str]) -> str:
    """The phrase as printed, whitespace normalised; a closing period ('... 1 000 kr.') is the
    sentence's and is dropped."""
    return re.sub(r"\s+", " ", match.group(0)).strip().removesuffix(".")


def unit_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of unit phrases, whose digits are not values ('Beløp i 1 000 kr')."""
    return [m.span() for m in UNIT_PHRASE_RE.finditer(text)]


def is_unit_line(text: str) -> bool:
    """A line that only states the unit: 'Beløp i 1 000 kr', '(Tall i hele tusen)'."""
    m = UNIT_PHRASE_RE.search(text)
    if m is None:
        return False
    rest = (text[: m.start()] + text[m.end() :]).strip(" .():")
    return not rest

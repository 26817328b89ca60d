"""Surface cues of a question, read by regular expressions and word lists alone (no analyzer, no
synonyms): the table it names, the years it asks about and the price level it states, column
intents, whether and how it compares two figures, other municipalities it names, and
instructions aimed at the bot. rag/query.py puts them together into a `QueryAnalysis`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from rag.text import raw_tokens

YEAR_MIN, YEAR_MAX = 1950, 2099  # four-digit numbers in this span are read as years

# --------------------------------------------------------------------------- intents

# Column intents: question stems (after stemming) that point at a kind of column.
_INTENT_WORDS: dict[str, tuple[str, ...]] = {
    "budsjett": ("budsjett", "budsjetter", "budsjettert", "budget", "budgeted", "ramm", "rammen"),
    "regnskap": ("regnskap", "regnskapet", "faktisk", "actual", "accounts", "resultat"),
    "avvik": ("avvik", "avviket", "differans", "variance", "difference", "deviation"),
    "endring": ("endring", "change", "økning", "nedgang", "reduksjon"),
    "prosent": ("prosent", "prosentvis", "percent", "percentag", "%", "andel", "share", "proportion", "rate", "grad"),
    "årsverk": ("årsverk", "fte", "equivalents"),
    "personer": ("person", "personer", "peopl", "persons"),
    "plasser": ("plass", "plasser", "places", "bed", "beds"),
    "snitt": ("snitt", "gjennomsnitt", "averag", "mean"),
}
_MORE = ("høyere", "mer", "flere", "økte", "økt", "økning", "steg", "større", "higher", "more", "increase",
         "increased", "grew", "rose", "larger", "bigger", "over")
_LESS = ("lavere", "mindre", "færre", "falt", "redusert", "reduksjon", "nedgang", "sank", "gikk ned", "lower",
         "less", "fewer", "fell", "decreased", "decrease", "dropped", "under", "mindreforbruk")

TABLE_REF = re.compile(r"\b(?:tabell|tabellen|table|tab\.)\s*(\d{1,3}(?:\.\d{1,2})?)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?<!\d[,.])(\d{4})(?!\d|,\d)")
_PRICE_YEAR = re.compile(r"(?<!\d)(\d{4})\s?-?\s?(?:kroner|kr\b|kr\.|-kroner|-kr|kroners|prices|kroners)", re.IGNORECASE)
FIXED_PRICES_RE = re.compile(r"\bfaste\s+(\d{4})?\s*-?\s*kr|\bfaste kroner\b|\bconstant\b|\breal terms\b", re.IGNORECASE)
# "målt i faste 2020-kroner", "regnet i faste kroner", "in 2020 kroner": price level, not content
PRICE_PHRASE = re.compile(
    r"\b(?:(?:målt|regnet|beregnet|measured)\s+)?(?:i|in|at)\s+(?:faste\s+|løpende\s+|constant\s+|fixed\s+)?"
    r"(?:\d{4}\s?-?\s?)?(?:kroner|kr\.?|prices|priser)(?=\W|$)",
    re.IGNORECASE,
)
FIXED_PRICES = -1  # price_year when the question says "faste kroner" without a year
_RANGE = re.compile(r"(\d{4})\s*(?:–|-|—|til|to)\s*(\d{4})")
_SLASH_YEARS = re.compile(r"(\d{4})\s*/\s*(\d{4})")
# "året før" is the year before a year the question names, unless an event follows ("året før
# pandemien (2019)": the year is given)
_YEAR_BEFORE = re.compile(r"\b(?:ett år før|året før|a year before|the year before)\s+(?:i\s+|in\s+)?((?:19|20)\d{2})\b",
                          re.IGNORECASE)
_PREV_YEAR = re.compile(r"\b(?:(?:ett år (?:før|tidligere)|året før|a year (?:before|earlier)|the year before)"
                        r"(?=\s*(?:[?.,;:)]|$|og\b|and\b|da\b|then\b))|i fjor|previous year)", re.IGNORECASE)

_COMPARE_BUDGET = re.compile(
    r"\b(enn budsjett\w*|enn det som var budsjettert|sammenlignet med budsjett\w*|i forhold til budsjett\w*|"
    r"mot budsjett\w*|over budsjett\w*|under budsjett\w*|budsjettavvik\w*|avvik\w*|differanse\w*|"
    r"enn rammen|over rammen|utover rammen|i forhold til rammen|"
    r"than budget\w*|compared (?:to|with) (?:the )?budget|over budget|under budget|variance|deviation|difference)\b",
    re.IGNORECASE,
)
_COMPARE_CHANGE = re.compile(
    r"\b(fra \d{4} til \d{4}|endring\w*|økte|økning\w*|falt|redusert|reduksjon\w*|nedgang\w*|gikk (?:ned|opp)|"
    r"steg|vokste|from \d{4} to \d{4}|change\w*|increase\w*|decrease\w*|grew|grow|rose|fell|dropped)\b",
    re.IGNORECASE,
)
_COMPARE_THAN = re.compile(r"\b(enn|than|sammenlignet med|compared (?:to|with)|mot)\b", re.IGNORECASE)
# "forskjellen/gapet mellom menn og kvinner": a difference between two things the question names
BETWEEN = re.compile(r"\b(?:mellom|between)\s+(.+?)\s+(?:og|and)\s+(.+)$", re.IGNORECASE)
_DIFFERENCE_WORD = re.compile(r"(forskjell|differanse|gap\b|gapet|difference|\w+gap(?:et)?\b)", re.IGNORECASE)
_COMPARATIVE = re.compile(
    r"\b(flere|færre|mer|mindre|høyere|lavere|større|mindre|more|fewer|less|higher|lower|larger|smaller)\b",
    re.IGNORECASE,
)

_INJECTION = re.compile(
    r"\b(ignorer\w*|glem (?:alt|instruks\w*|tidligere)|overse instruks\w*|ignore (?:all|any|the|previous|your|prior)\b|"
    r"disregard|forget (?:all|your|previous)|system ?prompt|du er nå|you are now|late som|pretend|"
    r"si at|skriv at|svar at|say that|write that|answer that|respond with)",
    re.IGNORECASE,
)
_CLAUSE_AFTER_CLAIM = re.compile(
    r"\b(si|skriv|svar|påstå|say|write|answer|claim|respond)\s+(at|that|with)\b.*$", re.IGNORECASE
)

_OTHER_MUNI = re.compile(
    r"\b([A-ZÆØÅ][\wæøåÆØÅ-]+)\s+(kommune|kommunes|municipality|municipality's)\b"
    r"|\bmunicipality of\s+([A-ZÆØÅ][\wæøåÆØÅ-]+)"
    r"|\bkommunen\s+([A-ZÆØÅ][\wæøåÆØÅ-]+)"  # group 4: after «kommunen», often an inverted sentence's object
)

# --------------------------------------------------------------------------- pieces


def find_table_ref(text: str) -> str | None:
    """The table a question names, as printed ("7", "4.7")."""
    m = TABLE_REF.search(text)
    return m.group(1) if m else None


def find_years(text: str) -> tuple[tuple[int, ...], int | None, tuple[int, int] | None]:
    """(years asked about, price-level year, range) from a question."""
    price_year = None
    masked = text
    for m in _PRICE_YEAR.finditer(text):
        price_year = int(m.group(1))
        masked = masked[: m.start(1)] + "    " + masked[m.end(1) :]
    fixed = FIXED_PRICES_RE.search(masked)
    if fixed and fixed.group(1):
        price_year = int(fixed.group(1))
        masked = masked[: fixed.start(1)] + "    " + masked[fixed.end(1) :]
    # "31.12.2019" -> 2019
    masked = re.sub(r"\b\d{1,2}\.\d{1,2}\.(\d{4})\b", r" \1", masked)
    # "2020/2021" (a turn of the year): the first year
    masked = _SLASH_YEARS.sub(lambda m: m.group(1), masked)
    years: list[int] = []
    for m in _YEAR.finditer(masked):
        y = int(m.group(1))
        if YEAR_MIN <= y <= YEAR_MAX and y not in years:
            years.append(y)
    rng = None
    m = _RANGE.search(masked)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if YEAR_MIN <= a < b <= YEAR_MAX:
            rng = (a, b)
    before = _YEAR_BEFORE.search(text)
    if before:  # "ett år før 2018" asks about 2017, not 2018
        named = int(before.group(1))
        years = [named - 1 if y == named else y for y in years]
    elif _PREV_YEAR.search(text) and years:
        prev = years[-1] - 1
        if prev not in years:
            years.append(prev)
    return tuple(dict.fromkeys(years)), price_year, rng


def find_intents(stems: Iterable[str], text: str) -> frozenset[str]:
    have = set(stems) | {w.lower() for w in raw_tokens(text)}
    out = {name for name, words in _INTENT_WORDS.items() if any(w in have for w in words)}
    if "%" in text:
        out.add("prosent")
    return frozenset(out)


def find_compare(text: str, years: Sequence[int]) -> tuple[str | None, int]:
    """("budget" | "change" | "than" | None, direction)."""
    low = text.lower()
    direction = 0
    if any(re.search(rf"\b{re.escape(w)}\b", low) for w in _MORE):
        direction = 1
    if any(re.search(rf"\b{re.escape(w)}\b", low) for w in _LESS):
        direction = -1 if direction == 0 else direction
    between = BETWEEN.search(text) if _DIFFERENCE_WORD.search(text) else None
    if between and not re.search(r"budsjett|budget|regnskap|accounts|actual|rammen", between.group(0), re.I):
        return "than", direction  # "forskjellen mellom menn og kvinner": two things, not budget vs accounts
    if _COMPARE_BUDGET.search(text) and re.search(
        r"budsjett|budget|avvik|differanse|variance|deviation|difference|rammen", low
    ):
        return "budget", direction
    if len(years) >= 2 and (_COMPARE_CHANGE.search(text) or _COMPARE_THAN.search(text)):
        return "change", direction
    if _COMPARE_CHANGE.search(text) and re.search(r"\bfra\b|\bfrom\b|endring|change", low):
        return "change", direction
    if _COMPARATIVE.search(text) and _COMPARE_THAN.search(text):
        return "than", direction

    return None, direction


def find_other_municipalities(text: str, home: Iterable[str], known: Iterable[str] = (),
                              report_words: Collection[str] = frozenset()) -> tuple[str, ...]:
    """Municipalities named in the question other than the report's own.

    «<Name> kommune» and «municipality of <Name>» name one; after «kommunen» a capitalised word is
    usually the object of an inverted sentence («når overtok kommunen Flytårnet?»), so there it
    counts only when the reports (``report_words``, lower case) do not use the word themselves.
    Names in ``known`` count wherever they stand."""
    home_l = {h.lower() for h in home}
    known_l = set(known)
    out: list[str] = []
    for m in _OTHER_MUNI.finditer(text):
        name = m.group(1) or m.group(3) or m.group(4)
        if not name or name.lower() in home_l or name.lower() in {"hver", "egen", "samme", "denne", "the"}:
            continue
        if m.group(4) and name.lower() in report_words and name.lower() not in known_l:
            continue
        out.append(name)
    words = re.findall(r"[\wæøåÆØÅ-]+", text)
    lowered = [w.lower() for w in words]
    for i, w in enumerate(lowered):
        if w in known_l and w not in home_l:
            # "Asker og Bærum" names a joint body of both, not the other municipality alone
            joint = (i + 2 < len(lowered) and lowered[i + 1] in {"og", "and"} and lowered[i + 2] in home_l) or (
                i >= 2 and lowered[i - 1] in {"og", "and"} and lowered[i - 2] in home_l
            )
            if not joint and words[i][:1].isupper():
                out.append(words[i])
    return tuple(dict.fromkeys(out))


def strip_injection(text: str) -> tuple[str, bool]:
    """Remove instructions aimed at the bot (and any claim it is told to repeat)."""
    if not _INJECTION.search(text):
        return text, False
    out = _CLAUSE_AFTER_CLAIM.sub("", text)
    out = _INJECTION.sub(" ", out)
    out = re.sub(r"\b(instruks\w*|instructions?|regler|rules|alt|over|ovenfor|tidligere|above|previous|"
                 r"everything|and|og)\b", " ", out, flags=re.IGNORECASE)
    # a number told to the bot is never a fact to look up
    out = re.sub(r"-?\d[\d ,.]*\s*(mrd|mill|milliarder|millioner|billion|million|kr|kroner)?\.?", " ", out)
    return " ".join(out.split()), True

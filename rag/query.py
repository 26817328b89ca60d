"""Query analysis: what a question asks for, before any search.

`analyze(question, analyzer, synonyms, history)` returns a `QueryAnalysis`: language, content
stems (with synonym expansions, weighted), an explicit table reference ("tabell 7",
"table 7"), the years asked about (not price-level years such as "2020-kroner"), column
intents (budsjett, regnskap, avvik, endring, prosent, årsverk, personer, plasser, snitt ...),
whether it compares two figures, whether it wants a number, other municipalities named, and
whether it is a follow-up ("og i 2019?", "hva med barnehagene?", "and in 2019?") that takes
the rest of its meaning from the previous turn.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.text import (
    COMPARE_WORDS,
    KEEP_IN_TERMS,
    LIGHT_VERBS,
    STOPWORDS,
    Analyzer,
    clean,
    detect_language,
    hyphen_joins,
    raw_tokens,
)
from rag.vocab import Synonyms

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
    "snitt": ("snitt", "gjennomsnitt", "gjennomsnitt", "averag", "mean"),
}
_MORE = ("høyere", "mer", "flere", "økte", "økt", "økning", "steg", "større", "higher", "more", "increase",
         "increased", "grew", "rose", "larger", "bigger", "over")
_LESS = ("lavere", "mindre", "færre", "falt", "redusert", "reduksjon", "nedgang", "sank", "gikk ned", "lower",
         "less", "fewer", "fell", "decreased", "decrease", "dropped", "under", "mindreforbruk")

_TABLE_REF = re.compile(r"\b(?:tabell|tabellen|table|tab\.)\s*(\d{1,3}(?:\.\d{1,2})?)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?<!\d[,.])(\d{4})(?!\d|,\d)")
_PRICE_YEAR = re.compile(r"(?<!\d)(\d{4})\s?-?\s?(?:kroner|kr\b|kr\.|-kroner|-kr|kroners|prices|kroners)", re.IGNORECASE)
_FIXED_PRICES = re.compile(r"\bfaste\s+(\d{4})?\s*-?\s*kr|\bfaste kroner\b|\bconstant\b|\breal terms\b", re.IGNORECASE)
# "målt i faste 2020-kroner", "regnet i faste kroner", "in 2020 kroner": price level, not content
_PRICE_PHRASE = re.compile(
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

# "hvor" asks "where" unless a word of degree follows ("hvor mye/mange/stor/lenge ...")
_HVOR_DEGREE = r"(?:mye|mange|stor\w*|høy\w*|lav\w*|lenge|lang\w*|ofte|gam\w*|dyr\w*|lite\w*|liten|små|bred\w*|" \
    r"tung\w*|rask\w*|sterk\w*|vanlig\w*|kraftig\w*|dårlig\w*|god\w*|fort)"
_WH_TEXT_NO = re.compile(rf"^\s*(hvem|hvilke|hvilken|hvilket|hvor(?!\s+{_HVOR_DEGREE}\b)(?=\s+\w)|når|hva heter|"
                         r"hvordan|hvorfor|beskriv)\b", re.IGNORECASE)
_WH_TEXT_EN = re.compile(r"^\s*(who|which|where|when|what is the name|how does|why|describe)\b", re.IGNORECASE)
_WH_NUMBER = re.compile(
    r"\b(hvor mye|hvor mange|hvor stor|hvor stort|hvor store|hvor høy|hvor høyt|hvor lav|hvor lenge|hvor langt|"
    r"hva var|hva ble|hva er|hva utgjorde|how much|how many|how large|how big|how high|how long|what was|what were|what is|what share|"
    r"antall|beløp|prosent|andel|percent|share|amount|"
    r"hvilke[nt]? (?:tall|verdi|beløp|sum|nivå|størrelse|resultat)|(?:which|what) (?:figure|value|number|level|sum))\b",
    re.IGNORECASE,
)
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


@dataclass(frozen=True)
class QTerm:
    """A content word of the question: its stem, compound parts and synonym phrases (stems)."""

    stem: str
    parts: tuple[str, ...] = ()
    alts: tuple[tuple[str, ...], ...] = ()
    word: str = ""
    light: bool = False  # a light verb: counts when found, costs nothing when missing
    proper: bool = False  # written with a capital inside the question (a name)


@dataclass(frozen=True)
class QueryAnalysis:
    question: str  # as asked
    text: str  # the effective question (for a follow-up: merged with the previous turn)
    lang: str  # "no" | "en"
    content: tuple[str, ...]  # stems of content words (incl. compound parts), in order
    expansions: tuple[str, ...] = ()  # stems added by synonyms
    terms: tuple[QTerm, ...] = ()  # content words with their compound parts and synonyms
    table_ref: str | None = None
    years: tuple[int, ...] = ()  # years asked about, in order of mention
    price_year: int | None = None  # "i 2020-kroner", "faste kroner"
    year_range: tuple[int, int] | None = None  # "2016–2020"
    intents: frozenset[str] = frozenset()
    compare: str | None = None  # "budget" | "change" | "than"
    direction: int = 0  # +1 more/higher/increase, -1 less/lower/decrease
    wants_number: bool = True
    other_entities: tuple[str, ...] = ()  # other municipalities named
    followup: bool = False
    injection: bool = False  # the question tries to instruct the bot
    dropped: tuple[str, ...] = ()  # stems taken out of a follow-up's previous question
    notes: tuple[str, ...] = field(default_factory=tuple)

    def search_weights(self) -> dict[str, float]:
        """Stems to search with and their weights (question words 1.0, synonyms 0.5)."""
        w: dict[str, float] = {}
        for s in self.content:
            w[s] = 1.0
        for s in self.expansions:
            w.setdefault(s, 0.5)
        for y in self.years:
            w[str(y)] = max(w.get(str(y), 0.0), 0.3)
        if self.table_ref is not None:
            w["tabell"] = 0.5
            w[str(self.table_ref)] = 1.0
        return w

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "text": self.text,
            "content": list(self.content),
            "expansions": list(self.expansions),
            "table_ref": self.table_ref,
            "years": list(self.years),
            "price_year": self.price_year,
            "intents": sorted(self.intents),
            "compare": self.compare,
            "direction": self.direction,
            "wants_number": self.wants_number,
            "other_entities": list(self.other_entities),
            "followup": self.followup,
            "injection": self.injection,
        }


# --------------------------------------------------------------------------- pieces


def find_table_ref(text: str) -> str | None:
    """The table a question names, as printed ("7", "4.7")."""
    m = _TABLE_REF.search(text)
    return m.group(1) if m else None


def find_years(text: str) -> tuple[tuple[int, ...], int | None, tuple[int, int] | None]:
    """(years asked about, price-level year, range) from a question."""
    price_year = None
    masked = text
    for m in _PRICE_YEAR.finditer(text):
        price_year = int(m.group(1))
        masked = masked[: m.start(1)] + "    " + masked[m.end(1) :]
    fixed = _FIXED_PRICES.search(masked)
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


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class QueryContext:
    """What analysis needs to know about the world: the analyzer, synonyms, the report's own
    municipality names and a list of other municipality names."""

    analyzer: Analyzer
    synonyms: Synonyms
    home: tuple[str, ...] = ()
    municipalities: frozenset[str] = frozenset()
    # lower-cased acronym -> stemmed phrases it may stand for (see find_acronyms)
    acronyms: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)


_DATE = re.compile(r"\b\d{1,2}\.\s?\d{1,2}\.\s?\d{4}\b|\b\d{1,2}\.\s+(?:januar|februar|mars|april|mai|juni|juli|"
                   r"august|september|oktober|november|desember)\b", re.IGNORECASE)


# "<kommune>bu", "<kommune>sbuer", "<kommune>inger": the municipality's inhabitants
_DEMONYM_END = re.compile(r"s?bu(?:er|en|ene)?|ing(?:er|en|ene)?")

# Norwegian stopwords that are content words in an English question ("men and women")
_ENGLISH_CONTENT = frozenset({"men"})


def question_terms(ctx: QueryContext, text: str, compare_asked: bool = False,
                   lang: str = "no") -> tuple[list[QTerm], list[str]]:
    """Content terms (with compound parts and synonyms) and synonym stems not tied to a term.
    A term that only translates another term of the question ('management fund' beside
    'forvaltningsfondet') is dropped."""
    home = {h.lower() for h in ctx.home} | {ctx.analyzer.stem(h.lower()) for h in ctx.home}
    home_lower = {h.lower() for h in ctx.home if len(h) >= 3}
    words = raw_tokens(_DATE.sub(" ", text))
    stems = [ctx.analyzer.stem(w) for w in words]
    spans = ctx.synonyms.spans(words, stems)
    terms: list[QTerm] = []
    seen: set[str] = set()
    free: list[str] = []
    acronyms = {m.lower() for m in re.findall(r"\b[A-ZÆØÅ]{2,}\b", text)}  # "IT", "SFO": never stopwords
    inside = " ".join(re.findall(r"\(([^()]*)\)", text))
    outside = re.sub(r"\([^()]*\)", " ", text)
    glosses = set(raw_tokens(inside)) - set(raw_tokens(outside))
    vocab = ctx.analyzer.vocabulary
    capitalised = {m.lower() for m in re.findall(r"(?<=[\w,)] )[A-ZÆØÅ][\wæøå]+", text)}
    for i, (w, st) in enumerate(zip(words, stems, strict=True)):
        keep = w in acronyms or w in KEEP_IN_TERMS or (lang == "en" and w in _ENGLISH_CONTENT)
        if (w in STOPWORDS and not keep) or w in home or st in home \
                or (w.isdigit() and len(w) == 4):
            continue
        if st in seen:
            continue
        seen.add(st)
        alts = tuple(dict.fromkeys(alt for a, b, alts in spans if a <= i < b for alt in alts if alt != (st,)))
        if any(w.startswith(h) and _DEMONYM_END.fullmatch(w[len(h):]) for h in home_lower):
            alts = (*alts, (ctx.analyzer.stem("innbyggere"),))  # "bærumsbu", "bæringer": the inhabitants
        if w in acronyms and w not in vocab and len(w) >= 3:  # an acronym the report never prints
            alts = (*alts, *ctx.acronyms.get(w, ()))
        light = w in LIGHT_VERBS and not alts  # a verb with synonyms in the report's words is no light verb
        light = light or (w in COMPARE_WORDS and compare_asked)
        light = light or w in glosses  # "(gebyrer, refusjoner o.l.)": helps when found, no harm when not
        terms.append(QTerm(st, ctx.analyzer.split_compound(w), alts, w, light, w in capitalised))
    for a, b, alts in spans:
        if not any(words[j] not in STOPWORDS for j in range(a, b)):
            free.extend(x for alt in alts for x in alt)
    stems_here = {t.stem for t in terms}
    terms = [t for t in terms if not any(len(alt) == 1 and alt[0] in stems_here and alt[0] != t.stem for alt in t.alts)]
    # a hyphenated word may be one word in the report ("Miljøfyrtårn-sertifisert"): the joined stem
    # is an alternative for both halves
    for first, second, joined in hyphen_joins(text):
        js = (ctx.analyzer.stem(joined),)
        terms = [replace(t, alts=(*t.alts, js)) if t.word in (first, second) and js not in t.alts else t
                 for t in terms]
    return terms, free


# Function words people type without æøå, restored so that the rules above see them
# ("hvor mye faerre ... enn aret for" = "hvor mye færre ... enn året før"). Content words are
# repaired against the report's own vocabulary later (rag/match.py).
_ASCII_WORDS = {
    "pa": "på", "aret": "året", "ar": "år", "arene": "årene", "faerre": "færre", "hoyere": "høyere",
    "okte": "økte", "okt": "økt", "okning": "økning", "nar": "når", "ogsa": "også", "forrige": "forrige",
    "storre": "større", "sma": "små", "naermere": "nærmere", "hvilke": "hvilke", "fjor": "fjor", "aarsrapport": "årsrapport",
}
_ASCII_PREV_YEAR = re.compile(r"\b(året|aret)\s+for\b(?=\s*(?:[?.,;:)]|$))", re.IGNORECASE)


def restore_letters(text: str) -> str:
    """'hvor mye faerre ... aret for?' -> 'hvor mye færre ... året før?' (common words only)."""
    text = _ASCII_PREV_YEAR.sub("året før", text)
    return re.sub(r"\b[a-zA-Z]+\b", lambda m: _ASCII_WORDS.get(m.group(0).lower(), m.group(0)), text)


def analyze_one(question: str, ctx: QueryContext) -> QueryAnalysis:
    """Analyse one question on its own (no history)."""
    text = restore_letters(" ".join(clean(question).split()))
    lang = detect_language(text)
    text_clean, injection = strip_injection(text)
    table_ref = find_table_ref(text_clean)
    years, price_year, rng = find_years(text_clean)
    no_ref = _PRICE_PHRASE.sub(" ", _TABLE_REF.sub(" ", text_clean))
    if price_year is None and _FIXED_PRICES.search(text_clean):
        price_year = FIXED_PRICES
    compare, direction = find_compare(text_clean, years)
    terms, free = question_terms(ctx, no_ref, compare is not None, lang)
    content = list(dict.fromkeys(x for t in terms for x in (t.stem, *t.parts)))
    expansions = [x for x in dict.fromkeys([*(x for t in terms for alt in t.alts for x in alt), *free])
                  if x not in content]
    intents = find_intents([t.stem for t in terms], text_clean)
    wants_number = not (_WH_TEXT_NO.search(text_clean) or _WH_TEXT_EN.search(text_clean)) or bool(
        re.search(r"\b(hvor mange|hvor mye|how many|how much|hvilke[nt]? (?:tall|verdi|beløp|sum|nivå)|"
                  r"(?:which|what) (?:figure|value|number|amount))\b", text_clean, re.IGNORECASE)
    )
    if not _WH_NUMBER.search(text_clean) and (_WH_TEXT_NO.search(text_clean) or _WH_TEXT_EN.search(text_clean)):
        wants_number = False
    others = find_other_municipalities(text_clean, ctx.home, ctx.municipalities, ctx.analyzer.vocabulary)
    return QueryAnalysis(
        question=question,
        text=text_clean,
        lang=lang,
        content=tuple(content),
        expansions=tuple(expansions),
        terms=tuple(terms),
        table_ref=table_ref,
        years=years,
        price_year=price_year,
        year_range=rng,
        intents=intents,
        compare=compare,
        direction=direction,
        wants_number=wants_number,
        other_entities=others,
        injection=injection,
    )

"""Query analysis: what a question asks for, before any search.

`analyze_one` (here) and `analyze(question, ctx, history)` (rag/conversation.py, which resolves
follow-ups) give a `QueryAnalysis`: language, content
stems (with synonym expansions, weighted), an explicit table reference ("tabell 7",
"table 7"), the years asked about (not price-level years such as "2020-kroner"), column
intents (budsjett, regnskap, avvik, endring, prosent, årsverk, personer, plasser, snitt ...),
whether it compares two figures, whether it wants a number, other municipalities named, and
whether it is a follow-up ("og i 2019?", "hva med barnehagene?", "and in 2019?") that takes
the rest of its meaning from the previous turn.

The surface cues (table reference, years and price level, intents, comparison, other
municipalities, injected instructions) are read in rag/cues.py; this module extracts the content
terms and puts the analysis together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.cues import (
    FIXED_PRICES,
    FIXED_PRICES_RE,
    PRICE_PHRASE,
    TABLE_REF,
    find_compare,
    find_intents,
    find_other_municipalities,
    find_table_ref,
    find_years,
    strip_injection,
)
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
    terms = [t for i, t in enumerate(terms) if not _translates_another(terms, i)]
    # a hyphenated word may be one word in the report ("Miljøfyrtårn-sertifisert"): the joined stem
    # is an alternative for both halves
    for first, second, joined in hyphen_joins(text):
        js = (ctx.analyzer.stem(joined),)
        terms = [replace(t, alts=(*t.alts, js)) if t.word in (first, second) and js not in t.alts else t
                 for t in terms]
    return terms, free


def _translates(t: QTerm, u: QTerm) -> bool:
    """Is ``u``'s stem one of ``t``'s one-word alternatives (a synonym or a translation of it)?"""
    return u.stem != t.stem and any(len(alt) == 1 and alt[0] == u.stem for alt in t.alts)


def _translates_another(terms: Sequence[QTerm], i: int) -> bool:
    """Is term i only another term's synonym or translation ('management fund' beside
    'forvaltningsfondet')? Of two words that are each other's synonyms («korona-pandemien»,
    «korona pandemien») the first stays: one of them carries both."""
    t = terms[i]
    return any(_translates(t, u) and (j < i or not _translates(u, t)) for j, u in enumerate(terms) if j != i)


# Function words people type without æøå, restored so that the rules (here and in rag/cues.py) see them
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
    no_ref = PRICE_PHRASE.sub(" ", TABLE_REF.sub(" ", text_clean))
    if price_year is None and FIXED_PRICES_RE.search(text_clean):
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

"""Questions about a whole report or a whole numbered chapter: «hva handler rapporten om?»,
«hvordan gikk det i 2020?», «what is the report about?», «oppsummer kapittel 8».

Such a question names no row, figure or sentence: every word it has left after the stopwords
belongs to the request itself («handler», «oppsummer», «overview», «kapittel 8»). Ranking cannot
settle it (there is nothing to match), so it is a rule, like the other hard checks in
rag/decide.py: the answer is the opening passage of the report (with the list of its chapters),
or the lead passage of the chapter asked for, cited. A report that has a key-figures section
(«Nøkkeltall», «Hovedtall», «Key figures») is summed up by that section's lead instead of its
opening: «hvordan gikk det i 2020?» wants the results, not the colophon. A question that also names a topic
(«hvordan gikk det med økonomien?», «tell me about the nursing homes») is ranked as usual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.records import Report
from rag.corpus import Corpus
from rag.match import WeightedTerm
from rag.query import QueryAnalysis
from rag.text import COMPARE_WORDS, LIGHT_VERBS

# a request for an overview (also the ranker's q_overview feature, rag/features.py)
OVERVIEW_Q = re.compile(
    r"\b(oppsummer\w*|sammendrag|kort fortalt|hvordan gikk det|hvordan har det gått|hva handler|hva står det om|"
    r"hva sier rapporten om|fortell (meg )?om|hovedpunkt\w*|overview|summar\w*|in short|briefly|"
    r"what does the report say|how did .{0,40}\bgo\b|how has .{0,40}\bgone\b|what is .{0,30}\babout|tell me about)\b",
    re.I,
)
_CHAPTER = re.compile(r"\b(?:kapittel|kapitlet|kapitel|kap\.?|chapter|ch\.)\s*(\d{1,2})\b", re.I)
# the words a request for an overview is made of (besides stopwords: «rapporten», «report» ...)
_REQUEST_WORD = re.compile(
    r"(oppsumm\w*|sammendrag\w*|sammenfatt\w*|handl\w*|står|sier|fortell\w*|fortalt|kort|hovedpunkt\w*|"
    r"hovedtrekk\w*|innhold\w*|overview|overall|summar\w*|about|short|briefly|brief|says?|tell|gikk|gått|"
    r"go|gone|went|annual|årlig\w*|kapit\w*|kap|chapter|ch|contents?|main|points?|highlights?)",
    re.I,
)
# the heading of a report's own summary of its results (see report_lead)
KEY_FIGURES = re.compile(r"\b(nøkkeltall\w*|hovedtall\w*|key figures|highlights|året i korte? trekk)\b", re.I)


def asked_chapter(text: str) -> int | None:
    """The chapter number a question names («kapittel 8», «chapter 3»), or None."""
    m = _CHAPTER.search(text)
    return int(m.group(1)) if m else None


def _only_request(terms: Sequence[WeightedTerm], chapter: int | None) -> bool:
    for wt in terms:
        word = wt.term.word
        # a light verb says nothing about what is asked; a word in brackets («(Oppvekst skole)») is
        # light for ranking, but it still names a topic
        if (wt.term.light and (word in LIGHT_VERBS or word in COMPARE_WORDS)) or _REQUEST_WORD.fullmatch(word):
            continue
        if chapter is not None and word == str(chapter):
            continue
        return False
    return True


def wants_report_overview(analysis: QueryAnalysis, terms: Sequence[WeightedTerm], report: Report) -> bool:
    """An overview request that names nothing but the report (and at most the report's own year)."""
    if not OVERVIEW_Q.search(analysis.text) or asked_chapter(analysis.text) is not None:
        return False
    year = report.meta.year if report.meta else None
    if any(y != year for y in analysis.years):
        return False
    return _only_request(terms, None)


def wants_chapter(analysis: QueryAnalysis, terms: Sequence[WeightedTerm]) -> int | None:
    """The chapter number of a request for a whole chapter («oppsummer kapittel 8»), or None."""
    chapter = asked_chapter(analysis.text)
    if chapter is None or analysis.years or not _only_request(terms, chapter):
        return None
    return chapter


def opening_lead(corpus: Corpus, report: int, chapter: int | None = None) -> int | None:
    """The first lead passage of a report (chapter None) or of its numbered chapter, or None."""
    for i, lead in enumerate(corpus.leads):
        if lead.report == report and (chapter is None or lead.chapter.number == chapter):
            return i
    return None


def report_lead(corpus: Corpus, report: int) -> int | None:
    """What sums up a whole report: the lead of its first key-figures section in the report's first
    half (a report's summary sits at its front; «Nøkkeltall for skole» in a late chapter is about
    the schools), else its opening lead."""
    front = len(corpus.reports[report].lines) / 2
    for i, lead in enumerate(corpus.leads):
        if lead.report == report and lead.lines[0] <= front and KEY_FIGURES.search(lead.heading):
            return i
    return opening_lead(corpus, report)


def chapter_list(report: Report) -> str:
    """The report's numbered chapters with a title, as printed: «01 LEDERKOMMENTAR, 02 ÅRSBERETNING, …»."""
    return ", ".join(c.display for c in report.chapters if c.number is not None and c.title)


__all__ = ["KEY_FIGURES", "OVERVIEW_Q", "asked_chapter", "chapter_list", "opening_lead", "report_lead", "wants_chapter", "wants_report_overview"]

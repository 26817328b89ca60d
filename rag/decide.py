"""Answer, ask back or abstain: from the ranker's scores to one decision.

The trained confidence model (rag/ranker.py) decides whether the best candidate is good
enough; a few checks stay rules because no score can settle them: a municipality no loaded
report is about, a year no report covers, a question with nothing left to look up once
instructions to the bot are taken out. Close runners-up become «Mente du …?» alternatives: beside
an unsure answer, and instead of an answer when the engine abstains with a confidence of at least
half the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.candidates import candidate_sentences, candidate_text, candidate_value
from rag.corpus import Corpus
from rag.engine import Engine, Scored
from rag.layout import CELL, DIFF, FIGURE, LEAD, SENTENCE
from rag.overview import opening_lead, report_lead, wants_chapter, wants_report_overview
from rag.pairs import printed_difference
from rag.ranker import RIVAL_DEPTH, answer_form, confidence_row

MAX_ALTERNATIVES = 3
ALT_WINDOW = 1.0  # runners-up within this many ranker points of the best are alternatives


@dataclass
class Decision:
    abstain: bool
    # abstaining: other_municipality | year | nothing_asked | low_confidence; answering by rule:
    # report_overview | chapter_overview (rag/overview.py)
    reason: str | None = None
    detail: str | None = None
    best: int | None = None  # candidate index (also for an abstention: the nearest thing)
    confidence: float | None = None
    alternatives: list[int] = field(default_factory=list)


def covered_years(corpus: Corpus) -> frozenset[int]:
    """Every year some loaded report has a figure or a sentence for."""
    years: set[int] = set()
    for t in corpus.tables:
        years |= t.years
    for s in corpus.sentences:
        years |= s.years
    for r in corpus.reports:
        if r.meta and r.meta.year:
            years.add(r.meta.year)
    return frozenset(years)


def _loaded_municipalities(corpus: Corpus) -> set[str]:
    out = set()
    for r in corpus.reports:
        if r.meta and r.meta.municipality:
            out.add(r.meta.municipality.split()[0].lower())
    return out


def _identity(engine: Engine, scored: Scored, i: int) -> tuple:
    """What makes two candidates the same answer: the same value from the same row or sentence."""
    c = scored.cands
    kind, ref = int(c.kind[i]), int(c.ref[i])
    corpus = engine.corpus
    value = candidate_value(corpus, c, i)
    if kind == CELL:
        return ("cell", int(corpus.cell_row[ref]), round(value or 0, 3))
    if kind == DIFF:
        a, b = c.pairs[ref]
        printed = printed_difference(corpus, a, b)  # answered with the table's own cell: that cell's identity
        if printed is None:
            return ("diff", a, b)
        return ("cell", int(corpus.cell_row[printed]), round(float(corpus.cell_value[printed]), 3))
    if kind == FIGURE:
        return ("sent", int(corpus.figure_sentence[ref]), round(value or 0, 3))
    if kind == SENTENCE:
        return ("sent", ref, None)
    return ("lead", ref, None)


def _rivals(engine: Engine, scored: Scored, depth: int = RIVAL_DEPTH) -> np.ndarray:
    """The ranking the confidence model judges: the best candidate and the next ones from the same
    report. The same row in another year's report is not a rival answer (the answer says which
    report it used); with one report this is the ranking itself."""
    order = scored.order
    if len(engine.corpus.reports) < 2 or len(order) < 2:
        return order[:depth]
    home = report_of(engine, scored, int(order[0]))
    out = [int(order[0])]
    for i in order[1:]:
        if report_of(engine, scored, int(i)) == home:
            out.append(int(i))
            if len(out) >= depth:
                break
    return np.asarray(out)


def decide(engine: Engine, scored: Scored) -> Decision:
    a = scored.analysis
    corpus = engine.corpus
    order = scored.order
    if len(order) == 0:
        return Decision(True, "nothing_asked")
    loaded = _loaded_municipalities(corpus)
    others = [m for m in a.other_entities if m.lower() not in loaded]
    if others:
        return Decision(True, "other_municipality", ", ".join(others))
    if a.years:
        missing = [y for y in a.years if y not in covered_years(corpus)]
        if missing and len(missing) == len(a.years):
            named = [str(y) for y in missing if str(y) in a.text]
            return Decision(True, "year", ", ".join(named) or None)
    overview = _overview(engine, scored)
    if overview is not None:
        return overview
    if not scored.q.terms or (a.injection and all(wt.term.light for wt in scored.q.terms)):
        return Decision(True, "nothing_asked")
    best = int(order[0])
    rivals = _rivals(engine, scored)
    values = [candidate_value(corpus, scored.cands, int(i)) for i in rivals]
    sentences = candidate_sentences(corpus, scored.cands, rivals)
    confidence = None
    if engine.ranker is not None:
        row = confidence_row(scored.cands.X, scored.scores, rivals, values, sentences)
        confidence = engine.ranker.confidence(row)
        threshold = engine.ranker.thresholds[answer_form(scored.cands.X[best])]
        if confidence < threshold:
            # no answer; when the nearest candidates are at least half-way plausible, they are
            # offered as precise questions the user can pick («Mente du …?»)
            near = distinct_candidates(engine, scored, None) if confidence >= threshold / 2 else []
            return Decision(True, "low_confidence", None, best, confidence, near)
    sure = getattr(engine.ranker, "sure", 1.0)
    alternatives = distinct_candidates(engine, scored, best) if confidence is None or confidence < sure else []
    return Decision(False, None, None, best, confidence, alternatives)


def _overview(engine: Engine, scored: Scored) -> Decision | None:
    """A request for the whole report or a whole numbered chapter of the report the best candidate
    is from: answered with its opening lead passage (rag/overview.py), not ranked."""
    corpus, terms = engine.corpus, scored.q.terms
    home = report_of(engine, scored, int(scored.order[0]))
    chapter = wants_chapter(scored.analysis, terms)
    if chapter is not None:
        lead, reason = opening_lead(corpus, home, chapter), "chapter_overview"
    elif wants_report_overview(scored.analysis, terms, corpus.reports[home]):
        lead, reason = report_lead(corpus, home), "report_overview"
    else:
        return None
    hit = np.flatnonzero((scored.cands.kind == LEAD) & (scored.cands.ref == lead)) if lead is not None else []
    return Decision(False, reason, None, int(hit[0])) if len(hit) else None


def distinct_candidates(engine: Engine, scored: Scored, answered: int | None, *, limit: int = MAX_ALTERNATIVES,
                        window: float = ALT_WINDOW) -> list[int]:
    """Up to ``limit`` distinct candidates within ``window`` of the best score, other than the one
    ``answered`` (None: an abstention, so the best itself is one of them); leads are not
    questions one can ask precisely. (rag/choose.py asks for a few more, as options for an LLM.)"""
    order = scored.order
    top = float(scored.scores[int(order[0])])
    seen = {_identity(engine, scored, answered)} if answered is not None else set()
    out: list[int] = []
    for i in order[:40]:
        i = int(i)
        if float(scored.scores[i]) < top - window or len(out) >= limit:
            break
        if i == answered or int(scored.cands.kind[i]) == LEAD:
            continue
        ident = _identity(engine, scored, i)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(i)
    return out


def report_of(engine: Engine, scored: Scored, i: int) -> int:
    return candidate_text(engine.corpus, scored.cands, i)[2]


__all__ = ["Decision", "decide", "distinct_candidates", "covered_years", "report_of", "np"]

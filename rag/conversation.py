"""Conversation: a follow-up question ("og i 2019?", "hva med barnehagene?", "and in 2019?")
takes what it leaves out from the previous turn. History items may be Answers (their first
citation names the row and table by id), chat messages (an assistant message may carry the cited
"row"; its text is never parsed) or earlier questions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from rag.query import QueryAnalysis, QueryContext, analyze_one
from rag.text import raw_tokens

_FOLLOWUP_START = re.compile(
    r"^\s*(og|men|enn|hva med|hvordan med|samme for|også for|og for|og hva med|og i|and|what about|how about|"
    r"same for|and for|and in|and what about)\b",
    re.IGNORECASE,
)


def is_followup(text: str, content: Sequence[str], years: Sequence[int]) -> bool:
    words = raw_tokens(text)
    if _FOLLOWUP_START.search(text) and len(words) <= 8:
        return True
    return bool(len(words) <= 4 and years and len(content) <= 1)


def _previous_turn(history: Sequence[Any] | None) -> tuple[str | None, str | None]:
    """(previous question, previous answer's row label) from history.

    History items may be chat messages ({"role", "content"}), Answer objects, QueryAnalysis
    objects or plain strings (earlier questions); the newest is last.
    """
    if not history:
        return None, None
    prev_q = prev_row = None
    for item in reversed(history):
        if isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
            if role == "assistant" and prev_q is None and prev_row is None:
                # ids, never text: a chat client may pass the cited row along
                row = item.get("row")
                prev_row = row if isinstance(row, str) else None
            elif role == "user" and isinstance(content, str):
                prev_q = content
                break
        elif isinstance(item, QueryAnalysis):
            prev_q = item.text
            break
        elif hasattr(item, "question") and hasattr(item, "citations"):
            prev_q = item.question
            cites = item.citations
            if cites and prev_row is None:
                prev_row = cites[0].row
            break
        elif isinstance(item, str):
            prev_q = item
            break
    return prev_q, prev_row


def analyze(question: str, ctx: QueryContext, history: Sequence[Any] | None = None) -> QueryAnalysis:
    """Analyse a question; a follow-up takes what it leaves out from the previous turn."""
    cur = analyze_one(question, ctx)
    prev_q, prev_row = _previous_turn(history)
    if prev_q is None or not is_followup(cur.text, cur.content, cur.years):
        return cur
    # the previous question may itself have been a follow-up: resolve it first
    earlier = list(history or [])
    idx = max((i for i, h in enumerate(earlier) if (isinstance(h, Mapping) and h.get("role") == "user")
               or isinstance(h, str | QueryAnalysis)), default=None)
    prev = analyze(prev_q, ctx, earlier[:idx] if idx is not None else None)
    new_terms = [t for t in cur.terms if t.stem not in {"og", "hva", "med", "and", "about"}]
    dropped: list[str] = []
    if new_terms:
        # the new subject replaces the previous one: drop the previous row label's words
        row_stems = set(ctx.analyzer.tokens(prev_row)) if prev_row else set()
        subject = row_stems or {prev.terms[0].stem} if prev.terms else row_stems
        kept = [t for t in prev.terms if t.stem not in subject and not (set(t.parts) & subject)]
        dropped = [t.stem for t in prev.terms if t not in kept]
        have = {t.stem for t in kept}
        terms = kept + [t for t in new_terms if t.stem not in have]
        merged_text = f"{cur.text} ({prev.text})"
    else:
        terms = list(prev.terms)
        merged_text = prev.text
        if cur.years:
            old = [str(y) for y in prev.years]
            for i, y in enumerate(cur.years):
                if i < len(old):
                    merged_text = merged_text.replace(old[i], str(y))
                else:
                    merged_text += f" {y}"
    content = list(dict.fromkeys(x for t in terms for x in (t.stem, *t.parts)))
    expansions = [x for x in dict.fromkeys(x for t in terms for alt in t.alts for x in alt) if x not in content]
    years = cur.years or prev.years
    compare = cur.compare or (prev.compare if (len(years) >= 2 or prev.compare == "budget") else None)
    return replace(
        prev,
        question=question,
        text=merged_text,
        lang=cur.lang,
        content=tuple(content),
        expansions=tuple(expansions),
        terms=tuple(terms),
        table_ref=cur.table_ref if cur.table_ref is not None else prev.table_ref,
        years=years,
        price_year=cur.price_year or prev.price_year,
        year_range=cur.year_range or (prev.year_range if not cur.years else None),
        intents=prev.intents | cur.intents,
        compare=compare,
        direction=cur.direction or prev.direction,
        other_entities=cur.other_entities,
        followup=True,
        injection=cur.injection,
        dropped=tuple(dropped),
    )

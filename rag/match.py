"""How well the question's words are found in every text field of the corpus, at once.

A question word is credited per field instance: 1.0 when the field has the word (its stem),
0.6 for a compound part or a prefix relation ("plasser" ~ "plassering"), 0.75 x the share of a
synonym phrase found, 0.5 x the share of the word's own compound parts found. Words are
weighted by idf; a word the corpus never uses (after folding æøå and fixing a one-letter typo)
weighs as much as the rarest word, because a question about something the reports never name
is a question they probably cannot answer.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rag.corpus import Corpus, FieldIndex
from rag.query import QTerm, QueryAnalysis

PART_CREDIT = 0.6
ALT_FACTOR = 0.75
OWN_PARTS_FACTOR = 0.5
LIGHT_FACTOR = 0.5


def fold(word: str) -> str:
    """A spelling without æøå and doubled vowels: 'økonomien' and 'okonomien' fold alike."""
    w = word.lower().replace("æ", "e").replace("ø", "o").replace("å", "a")
    return w.replace("ae", "e").replace("aa", "a").replace("oe", "o")


@dataclass(frozen=True)
class WeightedTerm:
    term: QTerm
    weight: float
    stems: tuple[str, ...]  # the stem, or the corpus stem a misspelt / æøå-less word was read as
    oov: bool  # not a word of the corpus (after spelling repair)


class Spelling:
    """Corpus words by folded spelling and by first letter, to repair question words."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    @cached_property
    def _folded(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for w in sorted(self.corpus.analyzer.vocabulary):
            out.setdefault(fold(w), w)
        return out

    @cached_property
    def _by_initial(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for w in self.corpus.analyzer.vocabulary:
            if len(w) >= 5 and not w[0].isdigit():
                out.setdefault(fold(w)[0], []).append(w)
        return out

    def repair(self, word: str) -> str | None:
        """The corpus word a question word most likely means, or None."""
        if len(word) < 4 or word[0].isdigit():
            return None
        f = fold(word)
        if f in self._folded:
            return self._folded[f]
        if len(word) < 6:
            return None
        pool = [w for w in self._by_initial.get(f[0], []) if abs(len(w) - len(word)) <= 2]
        close = difflib.get_close_matches(f, [fold(w) for w in pool], n=1, cutoff=0.88)
        if not close:
            return None
        return next(w for w in pool if fold(w) == close[0])


def weigh_terms(analysis: QueryAnalysis, corpus: Corpus, spelling: Spelling) -> list[WeightedTerm]:
    idf = corpus.idf
    out: list[WeightedTerm] = []
    for t in analysis.terms:
        stems: tuple[str, ...] = (t.stem,)
        oov = t.stem not in idf and not any(p in idf for p in t.parts)
        if oov and t.word:
            fixed = spelling.repair(t.word)
            if fixed is not None:
                stems = (t.stem, corpus.analyzer.stem(fixed))
                oov = False
        if t.stem.isdigit():
            w = 0.3
        elif not oov:
            known = [idf[s] for s in stems if s in idf] or [idf[p] for p in t.parts if p in idf]
            w = max(known) if known else 1.0
        else:
            alts = [idf[x] for alt in t.alts for x in alt if x in idf]
            english = analysis.lang == "en" and not t.proper
            w = (sum(alts) / len(alts)) if alts else (0.4 if english else corpus.idf_max)
            oov = not alts
        w = min(max(w, 0.3), corpus.idf_max)
        if t.light:
            w *= LIGHT_FACTOR
        out.append(WeightedTerm(t, w, stems, oov))
    return out


class Credits:
    """Credit vectors of question terms over the instances of each field, cached per question."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._stem_cache: dict[tuple[str, str], np.ndarray] = {}
        self._family_cache: dict[str, list[str]] = {}

    def family(self, stem: str) -> list[str]:
        """Corpus stems in a prefix relation with `stem` (both 5+ letters)."""
        if len(stem) < 5:
            return []
        hit = self._family_cache.get(stem)
        if hit is None:
            vocab = self.corpus.vocab_sorted
            i = bisect.bisect_left(vocab, stem)
            hit = []
            while i < len(vocab) and vocab[i].startswith(stem):
                if vocab[i] != stem:
                    hit.append(vocab[i])
                i += 1
            hit += [stem[:k] for k in range(5, len(stem)) if stem[:k] in self.corpus.idf]
            self._family_cache[stem] = hit
        return hit

    def stem(self, s: str, name: str) -> np.ndarray:
        key = (s, name)
        hit = self._stem_cache.get(key)
        if hit is not None:
            return hit
        f: FieldIndex = self.corpus.fields[name]
        c = np.zeros(f.n, np.float32)
        for other in self.family(s):
            idx = f.whole.get(other)
            if idx is not None:
                c[idx] = PART_CREDIT
        idx = f.parts.get(s)
        if idx is not None:
            c[idx] = PART_CREDIT
        idx = f.whole.get(s)
        if idx is not None:
            c[idx] = 1.0
        self._stem_cache[key] = c
        return c

    def term(self, wt: WeightedTerm, name: str) -> np.ndarray:
        t = wt.term
        best = np.maximum.reduce([self.stem(s, name) for s in wt.stems]) if len(wt.stems) > 1 else self.stem(wt.stems[0], name)
        if best.size == 0 or best.min() >= 1.0:
            return best
        for alt in t.alts:
            best = np.maximum(best, ALT_FACTOR * sum(self.stem(x, name) for x in alt) / len(alt))
        if t.parts:
            best = np.maximum(best, OWN_PARTS_FACTOR * sum(self.stem(p, name) for p in t.parts) / len(t.parts))
        return best


def coverage(
    terms: Sequence[WeightedTerm],
    credits: Credits,
    fields: Mapping[str, np.ndarray] | Sequence[tuple[str, np.ndarray]],
    n: int,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(coverage 0..1, largest missed weight / idf_max, best credit per term) for n candidates.

    ``fields`` maps a field name to the instance index of each candidate in that field (or is a
    list of such pairs, when one field counts twice: the two rows of a comparison). A term
    counts once, in the field where it is found best; a light term that is not found is left
    out instead of counting against the candidate."""
    got = np.zeros(n, np.float32)
    total = np.zeros(n, np.float32)
    missed = np.zeros(n, np.float32)
    per_term: list[np.ndarray] = []
    idf_max = credits.corpus.idf_max or 1.0
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    for wt in terms:
        best = np.zeros(n, np.float32)
        for name, idx in pairs:
            if len(idx):
                best = np.maximum(best, credits.term(wt, name)[idx])
        per_term.append(best)
        got += wt.weight * best
        if wt.term.light:
            total += wt.weight * (best > 0)
        else:
            total += wt.weight
            missed = np.maximum(missed, wt.weight * (1.0 - best) / idf_max)
    cov = np.divide(got, total, out=np.zeros(n, np.float32), where=total > 0)
    return cov, missed, per_term


def question_stem_set(terms: Sequence[WeightedTerm], credits: Credits) -> set[str]:
    """Every corpus stem the question names: its stems, parts, synonyms and prefix relatives."""
    out: set[str] = set()
    for wt in terms:
        t = wt.term
        for s in (*wt.stems, *t.parts, *(x for alt in t.alts for x in alt)):
            out.add(s)
            out.update(credits.family(s))
    return out

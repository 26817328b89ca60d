#!/usr/bin/env bash
# Set up, start what the tests need (Chromium for the browser test, a Chroma server for the
# integration tests), lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"

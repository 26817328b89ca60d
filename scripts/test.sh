#!/usr/bin/env bash
# Set up, start what the tests need (Chromium for the browser tests, a Chroma server for the
# integration tests), lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT_EXTRAS=dev,llm bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# A Chroma server on loopback for the client/server integration tests.
CHROMA_DIR="$(mktemp -d)"
CHROMA_PORT="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
.venv/bin/chroma run --path "$CHROMA_DIR" --host 127.0.0.1 --port "$CHROMA_PORT" >"$CHROMA_DIR.log" 2>&1 &
CHROMA_PID=$!
trap 'kill "$CHROMA_PID" 2>/dev/null || true; rm -rf "$CHROMA_DIR" "$CHROMA_DIR.log"' EXIT
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
export RAPPORT_TEST_CHROMA_URL="http://127.0.0.1:$CHROMA_PORT"
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"

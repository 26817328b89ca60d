#!/usr/bin/env bash
# Set up, start what the tests need (Chromium for the browser tests, a Chroma server for the
# integration tests), lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT_EXTRAS=dev,llm,train bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# A Chroma server on loopback for the client/server integration tests.
CHROMA_DIR="$(mktemp -d)"
CHROMA_PORT="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
.venv/bin/chroma run --path "$CHROMA_DIR/data" --host 127.0.0.1 --port "$CHROMA_PORT" >"$CHROMA_DIR/chroma.log" 2>&1 &
CHROMA_PID=$!
trap 'kill "$CHROMA_PID" 2>/dev/null || true; wait "$CHROMA_PID" 2>/dev/null || true; rm -rf "$CHROMA_DIR"' EXIT
CHROMA_UP=0
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat', timeout=1)" 2>/dev/null; then
    CHROMA_UP=1; break
  fi
  sleep 0.5
done
if [ "$CHROMA_UP" != 1 ]; then echo "Chroma server did not start:" >&2; cat "$CHROMA_DIR/chroma.log" >&2; exit 1; fi
export RAPPORT_TEST_CHROMA_URL="http://127.0.0.1:$CHROMA_PORT"
.venv/bin/ruff check .
.venv/bin/python -m pytest -m "" "$@"  # every test: unit, slow and integration

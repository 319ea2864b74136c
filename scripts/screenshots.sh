#!/usr/bin/env bash
# Screenshots of the main pages at phone and desktop widths (docs/screenshots/), taken in
# Debian's Chromium from a fresh demo. Needs chromium and the browser-tests npm packages.
#   bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d browser-tests/node_modules/playwright-core ] || (cd browser-tests && npm ci --silent --no-audit --no-fund)
cargo build --release --locked --quiet
WORK="$(mktemp -d)"
PORT="${PORT:-18570}"
target/release/passerelle demo --listen "127.0.0.1:$PORT" --database "$WORK/demo.db" > "$WORK/demo.txt" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do grep -q "Essayez" "$WORK/demo.txt" 2>/dev/null && break; sleep 0.1; done
SITE=site@talence.demo
PRESCRIBER=prescripteur@ccas-bordeaux.demo
mkdir -p docs/screenshots
node browser-tests/screenshots.mjs "http://127.0.0.1:$PORT" "$SITE" "$PRESCRIBER" demo-passerelle-2026 "$PWD/docs/screenshots" \
  admin@passerelle.demo financeur@gironde.demo

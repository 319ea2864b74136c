#!/usr/bin/env bash
# Printing: 10 000 books of 10 vouchers as print-ready PDF files of at most 100 books, rendered
# two files at a time, on SQLite. Reports the time, the files and the peak memory of the whole
# process (/usr/bin/time), which includes issuing the order first.
#
#   bash bench/print.sh            BOOKS=2000 bash bench/print.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BOOKS="${BOOKS:-10000}"
[ -x /usr/bin/time ] || { echo "/usr/bin/time manquant (apt-get install time)" >&2; exit 1; }
echo "== build (release)"
cargo build --release --locked --quiet --features bench
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $BOOKS books × 10 vouchers"
OUT=$( { RUST_LOG=warn DATABASE_URL="sqlite:$WORK/print.db" /usr/bin/time -f "peak_rss_kb=%M" \
  target/release/passerelle bench print --books "$BOOKS" --out "$WORK/pdf"; } 2>&1 )
echo "$OUT" | grep '^print '
echo "peak_rss_mb=$(( $(echo "$OUT" | sed -nE 's/^peak_rss_kb=([0-9]+)$/\1/p') / 1024 ))"
echo "goal: 10 000 books in under 60 s, peak memory under 500 MB"

#!/usr/bin/env bash
# Bulk issuance: one order of 100 000 books × 10 vouchers (1 000 000 signed vouchers) on SQLite
# and on PostgreSQL, each against a reference measured in the same run: a plain bulk insert of
# the same rows (same statements and chunk sizes, no signing). Peak memory from /usr/bin/time.
#
#   bash bench/issue.sh              BOOKS=20000 bash bench/issue.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BOOKS="${BOOKS:-100000}"
ADMIN_URL="${PASSERELLE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
SERVER_URL="${ADMIN_URL%/*}"
command -v psql >/dev/null || { echo "psql manquant (apt-get install postgresql-client)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time manquant (apt-get install time)" >&2; exit 1; }

echo "== build (release)"
cargo build --release --locked --quiet --features bench
BIN=target/release/passerelle
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; psql -q -X "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS passerelle_bench_issue" >/dev/null 2>&1 || true' EXIT

run() { # engine-url mode
  local out
  out=$( { RUST_LOG=warn DATABASE_URL="$1" /usr/bin/time -f "peak_rss_mb=%M" "$BIN" bench issue --books "$BOOKS" $2; } 2>&1 )
  local line rss
  line=$(echo "$out" | grep -E '^(issue|reference) ')
  rss=$(echo "$out" | sed -nE 's/^peak_rss_mb=([0-9]+)$/\1/p')
  echo "$line peak_rss_mb=$((rss / 1024))"
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $BOOKS books × 10 vouchers"
for engine in sqlite postgres; do
  for mode in "" "--reference"; do
    if [ "$engine" = sqlite ]; then
      rm -f "$WORK"/issue.db*
      URL="sqlite:$WORK/issue.db"
    else
      psql -q -X "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS passerelle_bench_issue" -c "CREATE DATABASE passerelle_bench_issue" >/dev/null
      URL="$SERVER_URL/passerelle_bench_issue"
    fi
    run "$URL" "$mode"
  done
done
echo "goals: 1 000 000 vouchers in < 30 s on SQLite and < 60 s on PostgreSQL, peak memory < 300 MB"

#!/usr/bin/env bash
# Dashboard speed at national scale, on PostgreSQL and on SQLite: `passerelle bench stats` writes
# the statistics aggregates of 10 million vouchers and 5 million redemptions (1 000 orders of
# 1 000 books of 10 vouchers, 5 000 sites, communes of residence drawn by population, 24 months)
# through the code that folds real events, then times every dashboard request — headline figures
# and the ten breakdowns, for the operator, five funders and five sites, over twelve months —
# ROUNDS times each, and prints p50/p95/max per request and overall. Goal: p95 < 100 ms.
#
#   bash bench/stats.sh                      # national scale, 20 rounds
#   SCALE=regional ROUNDS=10 bash bench/stats.sh
#
# PASSERELLE_BENCH_POSTGRES_URL names the server (default postgres://postgres@127.0.0.1:5432/test);
# the script creates and drops its own database passerelle_bench_stats.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SCALE="${SCALE:-national}"
ROUNDS="${ROUNDS:-20}"
SERVER_URL="${ADMIN_URL%/*}"

need psql
release_binary
WORK="$(mktemp -d)"
cleanup() {
  rm -rf "$WORK"
  drop_db passerelle_bench_stats
}
trap cleanup EXIT

measure() { # label database-url
  export DATABASE_URL="$2" PASSERELLE_KEY_DIR="$WORK/$1-keys" RUST_LOG=warn
  "$BIN" init >/dev/null
  "$BIN" bench stats --scale "$SCALE" --rounds "$ROUNDS"
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version')"
echo "== PostgreSQL, scale $SCALE, $ROUNDS rounds"
fresh_db passerelle_bench_stats
measure postgres "$SERVER_URL/passerelle_bench_stats" | tee "$WORK/postgres.txt"
PG_OUT=$(cat "$WORK/postgres.txt")
drop_db passerelle_bench_stats

echo "== SQLite, scale $SCALE, $ROUNDS rounds"
measure sqlite "sqlite:$WORK/stats.db" | tee "$WORK/sqlite.txt"
SQLITE_OUT=$(cat "$WORK/sqlite.txt")

echo
echo "== summary ($(date -u +%Y-%m-%d))"
for out in "$PG_OUT" "$SQLITE_OUT"; do
  echo "$out" | grep -E '^(generate|stats) '
done

#!/usr/bin/env bash
# Ledger throughput: 16 concurrent clients post three-posting redemption transactions for a
# fixed time on PostgreSQL and on SQLite; in the same run pgbench (built-in tpcb-like script,
# same number of clients) measures the same PostgreSQL server as the reference.
#
#   bash bench/ledger.sh                 # 16 clients, 20 s per measurement
#   CLIENTS=32 DURATION=60 bash bench/ledger.sh
#
# PASSERELLE_BENCH_POSTGRES_URL names the server (default postgres://postgres@127.0.0.1:5432/test);
# the script creates and drops its own databases passerelle_bench and passerelle_pgbench on it.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS="${CLIENTS:-16}"
DURATION="${DURATION:-20}"
SCALE="${PGBENCH_SCALE:-$CLIENTS}"
ADMIN_URL="${PASSERELLE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
SERVER_URL="${ADMIN_URL%/*}"

for tool in psql pgbench; do
  command -v "$tool" >/dev/null || { echo "$tool manquant (apt-get install postgresql-client)" >&2; exit 1; }
done

echo "== build (release)"
cargo build --release --locked --quiet --features bench
BIN=target/release/passerelle
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; psql -q -X "$ADMIN_URL" -c "DROP DATABASE IF EXISTS passerelle_bench" -c "DROP DATABASE IF EXISTS passerelle_pgbench" >/dev/null 2>&1 || true' EXIT

fresh_db() {
  psql -q -X "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version') PostgreSQL"
echo "== pgbench tpcb-like: scale $SCALE, $CLIENTS clients, ${DURATION} s"
fresh_db passerelle_pgbench
pgbench -q -i -s "$SCALE" "$SERVER_URL/passerelle_pgbench" >/dev/null 2>&1
PGBENCH_TPS=$(pgbench -n -c "$CLIENTS" -j "$(nproc)" -T "$DURATION" "$SERVER_URL/passerelle_pgbench" 2>/dev/null \
  | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]; exit}')
echo "pgbench tps=$PGBENCH_TPS"

echo "== Passerelle ledger on PostgreSQL: $CLIENTS clients, ${DURATION} s"
fresh_db passerelle_bench
PG_LINE=$(RUST_LOG=warn DATABASE_URL="$SERVER_URL/passerelle_bench" PASSERELLE_DB_MAX_CONNECTIONS="$CLIENTS" \
  "$BIN" bench ledger --clients "$CLIENTS" --seconds "$DURATION")
echo "$PG_LINE"

echo "== Passerelle ledger on SQLite: $CLIENTS clients, ${DURATION} s"
SQLITE_LINE=$(RUST_LOG=warn DATABASE_URL="sqlite:$WORK/bench.db" PASSERELLE_DB_MAX_CONNECTIONS="$CLIENTS" \
  "$BIN" bench ledger --clients "$CLIENTS" --seconds "$DURATION")
echo "$SQLITE_LINE"

PG_TPS=$(echo "$PG_LINE" | sed -E 's/.* tps=([0-9.]+).*/\1/')
echo
echo "== summary ($(date -u +%Y-%m-%d))"
python3 - "$PG_TPS" "$PGBENCH_TPS" <<'PY'
import sys
ledger, pgbench = float(sys.argv[1]), float(sys.argv[2])
print(f"ledger on PostgreSQL: {ledger:.0f} tx/s; pgbench tpcb-like: {pgbench:.0f} tps; ratio {ledger / pgbench:.2f} (goal >= 0.50)")
PY

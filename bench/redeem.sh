#!/usr/bin/env bash
# Redemption throughput over HTTP: the real server (`passerelle serve`, release build) on
# PostgreSQL and on SQLite, driven by the load generator `passerelle loadtest` (32 clients by
# default, each redeeming distinct vouchers at its own accredited site); in the same run pgbench
# (built-in tpcb-like script, same number of clients) measures the same PostgreSQL server.
#
#   bash bench/redeem.sh                     # 32 clients, 20 s per measurement
#   CLIENTS=16 DURATION=60 bash bench/redeem.sh
#
# PASSERELLE_BENCH_POSTGRES_URL names the server (default postgres://postgres@127.0.0.1:5432/test);
# the script creates and drops its own databases passerelle_bench_redeem and passerelle_pgbench.
# With PASSERELLE_BENCH_SOCKET_DIR=/var/run/postgresql, Passerelle and pgbench both reach the
# server through its Unix socket instead of TCP. The server keeps its default pool (16).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

CLIENTS="${CLIENTS:-32}"
DURATION="${DURATION:-20}"
BOOKS="${BOOKS:-8000}"
SCALE="${PGBENCH_SCALE:-$CLIENTS}"
PORT="${PORT:-18480}"
SERVER_URL="${ADMIN_URL%/*}"
SOCKET_DIR="${PASSERELLE_BENCH_SOCKET_DIR:-}"
db_url() { # database-name
  if [ -n "$SOCKET_DIR" ]; then echo "postgres://postgres@localhost/$1?host=$SOCKET_DIR"; else echo "$SERVER_URL/$1"; fi
}

need psql pgbench curl
# PASSERELLE_BIN measures a binary already built with `--features bench` (to compare two versions
# in turn).
release_binary
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
  drop_db passerelle_bench_redeem passerelle_pgbench
}
trap cleanup EXIT

# measure <label> <database-url>: init, set up, serve, load, verify; prints the loadtest line.
measure() {
  local label="$1" db="$2" dir="$WORK/$1"
  mkdir -p "$dir"
  server_env "$db" "$dir" "$PORT" warn
  "$BIN" init >/dev/null
  "$BIN" bench redeem-setup --sites "$CLIENTS" --books "$BOOKS" --out "$dir/plan.json" 2>&1 | sed 's/^/   /' >&2
  "$BIN" serve >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_healthy "http://127.0.0.1:$PORT"
  "$BIN" loadtest --url "http://127.0.0.1:$PORT" --plan "$dir/plan.json" --clients "$CLIENTS" --seconds "$DURATION"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
  "$BIN" ledger verify | tail -1 | sed 's/^/   ledger verify: /' >&2
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version') PostgreSQL"
echo "== transport: ${SOCKET_DIR:+Unix socket $SOCKET_DIR}${SOCKET_DIR:-TCP $SERVER_URL}"
echo "== pgbench tpcb-like: scale $SCALE, $CLIENTS clients, ${DURATION} s"
fresh_db passerelle_pgbench
pgbench -q -i -s "$SCALE" "$(db_url passerelle_pgbench)" >/dev/null 2>&1
PGBENCH_TPS=$(pgbench -n -c "$CLIENTS" -j "$(nproc)" -T "$DURATION" "$(db_url passerelle_pgbench)" 2>/dev/null \
  | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]; exit}')
echo "pgbench tps=$PGBENCH_TPS"
drop_db passerelle_pgbench

echo "== Passerelle over HTTP on PostgreSQL: $CLIENTS clients, ${DURATION} s"
fresh_db passerelle_bench_redeem
PG_LINE=$(measure postgres "$(db_url passerelle_bench_redeem)")
echo "$PG_LINE"

echo "== Passerelle over HTTP on SQLite: $CLIENTS clients, ${DURATION} s"
SQLITE_LINE=$(measure sqlite "sqlite:$WORK/redeem.db")
echo "$SQLITE_LINE"

echo
echo "== summary ($(date -u +%Y-%m-%d))"
python3 - "$PG_LINE" "$SQLITE_LINE" "$PGBENCH_TPS" <<'PY'
import sys
def fields(line):
    return dict(kv.split("=") for kv in line.split()[1:])
pg, lite, pgbench = fields(sys.argv[1]), fields(sys.argv[2]), float(sys.argv[3])
rate = float(pg["rate"])
print(f"PostgreSQL: {rate:.0f} redemptions/s, p50 {pg['p50_ms']} ms, p99 {pg['p99_ms']} ms; "
      f"pgbench tpcb-like {pgbench:.0f} tps; ratio {rate / pgbench:.2f} (goal >= 0.50, p99 < 50 ms)")
print(f"SQLite: {float(lite['rate']):.0f} redemptions/s, p50 {lite['p50_ms']} ms, p99 {lite['p99_ms']} ms (goal >= 2000/s)")
PY

#!/usr/bin/env bash
# Soak: the real server (release build) on PostgreSQL under mixed traffic for DURATION seconds
# (default 600): redemptions from `passerelle loadtest` (CLIENTS clients, default 4) while a
# reader asks, in a loop, the operator's dashboard figures and tables, the impact report PDF, a
# book's printable PDF and a book's detail. Every SAMPLE seconds (default 30) it records
# the server's resident memory, its open file descriptors and its PostgreSQL connections, and at
# the end compares the last sample with the one after warm-up. Then `ledger verify`.
#
#   bash bench/soak.sh
#   DURATION=120 SAMPLE=10 bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-600}"
SAMPLE="${SAMPLE:-30}"
CLIENTS="${CLIENTS:-4}"
BOOKS="${BOOKS:-40000}"
PORT="${PORT:-18490}"
DB_NAME=passerelle_bench_soak
DB_URL="${ADMIN_URL%/*}/$DB_NAME"

need psql curl
release_binary
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
  drop_db "$DB_NAME"
}
trap cleanup EXIT
fresh_db "$DB_NAME"

server_env "$DB_URL" "$WORK" "$PORT" warn
"$BIN" init --admin-email soak@passerelle.test >/dev/null
"$BIN" bench redeem-setup --sites "$CLIENTS" --books "$BOOKS" --out "$WORK/plan.json" 2>&1 | sed 's/^/   /'
TOKEN="$("$BIN" token create --email soak@passerelle.test --name soak | grep -o 'psl_[A-Za-z0-9_-]*' | head -1)"
ORDER="$(psql -X -At "$DB_URL" -c 'SELECT MIN(id) FROM orders')"
CODE="$(psql -X -At "$DB_URL" -c "SELECT serial FROM books WHERE order_id = $ORDER ORDER BY number LIMIT 1")"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
BASE="http://127.0.0.1:$PORT"
wait_healthy "$BASE"

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== ${DURATION} s: $CLIENTS redeeming clients + 1 reader (dashboard, tables, report PDF, book PDF, book)"
"$BIN" loadtest --url "$BASE" --plan "$WORK/plan.json" --clients "$CLIENTS" --seconds "$DURATION" >"$WORK/load.txt" 2>&1 &
PIDS+=("$!")
LOAD=$!
(
  n=0
  end=$((SECONDS + DURATION))
  while [ $SECONDS -lt $end ]; do
    for path in /api/v1/statistics /api/v1/statistics/tables/month /api/v1/statistics/tables/commune \
      /api/v1/statistics/report.pdf "/api/v1/orders/$ORDER/books.pdf?from=1&to=1" "/api/v1/books/$CODE"; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE$path")
      [ "$code" = 200 ] || echo "reader: $path -> $code" >&2
      n=$((n + 1))
    done
  done
  echo "$n" >"$WORK/reads.txt"
) &
READER=$!
PIDS+=("$READER")

printf '%8s %12s %8s %14s\n' "t (s)" "RSS (MiB)" "fds" "PG connections"
first=""; last=""
start=$SECONDS
while kill -0 "$LOAD" 2>/dev/null; do
  sleep "$SAMPLE"
  kill -0 "$SERVER" 2>/dev/null || { echo "le serveur s'est arrêté" >&2; exit 1; }
  rss=$(( $(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status") / 1024 ))
  fds=$(ls "/proc/$SERVER/fd" | wc -l)
  conns=$(psql -X -At "$ADMIN_URL" -c "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '$DB_NAME'")
  t=$((SECONDS - start))
  printf '%8s %12s %8s %14s\n' "$t" "$rss" "$fds" "$conns"
  # Warm-up: the first minute.
  if [ -z "$first" ] && [ "$t" -ge 60 ]; then first="$rss $fds $conns"; fi
  last="$rss $fds $conns"
done
wait "$READER" || true
echo "== load generator"
cat "$WORK/load.txt"
echo "reads: $(cat "$WORK/reads.txt" 2>/dev/null || echo 0) requests"
read -r r1 f1 c1 <<<"${first:-$last}"
read -r r2 f2 c2 <<<"$last"
echo "after warm-up -> end: RSS ${r1} -> ${r2} MiB, fds ${f1} -> ${f2}, PG connections ${c1} -> ${c2}"
kill -TERM "$SERVER"; wait "$SERVER" || true
"$BIN" ledger verify | tail -1 | sed 's/^/ledger verify: /'

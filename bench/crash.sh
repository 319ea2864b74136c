#!/usr/bin/env bash
# Long form of the crash test, on PostgreSQL: the real server (release build) under redemption
# load while the PostgreSQL server itself is restarted (RESTARTS times, default 3). Clients see
# errors during each restart, then the server serves again with no manual action. At the end:
# a last run must succeed without a single failure, every redemption in the database is one the
# clients were told about or one whose answer was cut, no voucher is redeemed twice, and
# `ledger verify` passes. The short form (SIGKILL of the server, connections cut) runs in the
# test suite: tests/crash.rs.
#
# It restarts the PostgreSQL cluster of this machine: run it alone, never beside the test suite.
#   bash bench/crash.sh
#   PG_RESTART="systemctl restart postgresql" bash bench/crash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

RESTARTS="${RESTARTS:-3}"
CLIENTS="${CLIENTS:-4}"
PORT="${PORT:-18495}"
PG_RESTART="${PG_RESTART:-pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql 2>/dev/null | head -1) main restart}"
DB_NAME=passerelle_bench_crash
DB_URL="${ADMIN_URL%/*}/$DB_NAME"

need psql pg_isready curl bc
release_binary
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
  drop_db "$DB_NAME"
}
trap cleanup EXIT
fresh_db "$DB_NAME"
server_env "$DB_URL" "$WORK" "$PORT" error
"$BIN" init --admin-email crash@passerelle.test >/dev/null
"$BIN" bench redeem-setup --sites "$CLIENTS" --books 20000 --out "$WORK/plan.json" 2>&1 | sed 's/^/   /'
# Two plans from the vouchers: one for the restarts, one for the run afterwards.
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
plan = json.load(open(f"{work}/plan.json"))
for i, name in enumerate(["during", "after"]):
    part = {"clients": [dict(c, vouchers=c["vouchers"][i::2]) for c in plan["clients"]]}
    json.dump(part, open(f"{work}/{name}.json", "w"))
PY
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT"
wait_healthy "$BASE"

echo "== machine: $(nproc) cores, PostgreSQL $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version'), $(date -u +%Y-%m-%dT%H:%MZ)"
DURATION=$((RESTARTS * 15 + 10))
echo "== $DURATION s of load, $CLIENTS clients; PostgreSQL restarted $RESTARTS times ($PG_RESTART)"
"$BIN" loadtest --url "$BASE" --plan "$WORK/during.json" --clients "$CLIENTS" --seconds "$DURATION" >"$WORK/load.txt" 2>&1 &
LOAD=$!
for i in $(seq 1 "$RESTARTS"); do
  sleep 10
  start=$(date +%s.%N)
  $PG_RESTART
  until pg_isready -q -d "$ADMIN_URL"; do sleep 0.1; done
  printf 'restart %s: PostgreSQL back after %.1f s\n' "$i" "$(echo "$(date +%s.%N) - $start" | bc)"
  sleep 5
done
wait "$LOAD" || true
echo "== during the restarts"
grep '^loadtest' "$WORK/load.txt"
failed=$(grep -o 'failed=[0-9]*' "$WORK/load.txt" | cut -d= -f2)
created=$(grep -o 'created=[0-9]*' "$WORK/load.txt" | cut -d= -f2)
echo "== afterwards, with no action on the server: 10 s more must succeed entirely"
"$BIN" loadtest --url "$BASE" --plan "$WORK/after.json" --clients "$CLIENTS" --seconds 10 | tee "$WORK/after.txt"
after=$(grep -o 'created=[0-9]*' "$WORK/after.txt" | cut -d= -f2)
kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=""
in_db=$(psql -X -At "$DB_URL" -c "SELECT COUNT(*) FROM redemptions")
twice=$(psql -X -At "$DB_URL" -c "SELECT COUNT(*) FROM (SELECT voucher_id FROM redemption_vouchers GROUP BY voucher_id HAVING COUNT(*) > 1) d")
echo "redemptions in the database: $in_db (acknowledged $((created + after)), answers cut or refused $failed); vouchers redeemed twice: $twice"
[ "$twice" = 0 ] || { echo "ÉCHEC : un chèque utilisé deux fois" >&2; exit 1; }
[ "$in_db" -ge $((created + after)) ] && [ "$in_db" -le $((created + after + failed)) ] \
  || { echo "ÉCHEC : passages perdus ou en trop" >&2; exit 1; }
"$BIN" ledger verify | tail -1 | sed 's/^/ledger verify: /'

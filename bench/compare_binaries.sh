#!/usr/bin/env bash
# Redemption throughput of two builds of Passerelle (issue 16: the application layer within 5 %
# of before). Runs bench/redeem.sh alternately with OLD_BIN and NEW_BIN (release builds; a build
# from before the `bench` feature needs none, a later one `--features bench`), ROUNDS times each,
# and prints each run and the median of each side, per engine. Alternating (old-new, new-old, …)
# spreads the machine's drift over both sides, and PostgreSQL writes its dirty pages (CHECKPOINT)
# before each run; the pgbench rate measured in each run shows the drift that remains.
#
#   OLD_BIN=/path/old/passerelle NEW_BIN=target/release/passerelle bash bench/compare_binaries.sh
#   ROUNDS=6 DURATION=20 OLD_BIN=… NEW_BIN=… bash bench/compare_binaries.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${OLD_BIN:?OLD_BIN : le binaire de référence (build release)}"
: "${NEW_BIN:?NEW_BIN : le binaire à comparer (build release, --features bench)}"
for bin in "$OLD_BIN" "$NEW_BIN"; do
  [ -x "$bin" ] || { echo "binaire introuvable : $bin" >&2; exit 1; }
done
ROUNDS="${ROUNDS:-4}"
export DURATION="${DURATION:-15}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

ADMIN_URL="${PASSERELLE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
for round in $(seq 1 "$ROUNDS"); do
  # ABBA: the side that runs first alternates, so that what one run leaves to the next (the
  # server's checkpoints, the page cache) weighs on both sides alike.
  if [ $((round % 2)) = 1 ]; then sides="old new"; else sides="new old"; fi
  for side in $sides; do
    if [ "$side" = old ]; then bin="$OLD_BIN"; else bin="$NEW_BIN"; fi
    psql -q -X "$ADMIN_URL" -c CHECKPOINT >/dev/null
    echo "== round $round, $side ($bin)"
    summary=$(PASSERELLE_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" bash bench/redeem.sh 2>/dev/null \
      | grep -E '^(PostgreSQL|SQLite):')
    echo "$summary" | sed 's/^/   /'
    echo "$summary" | sed "s/^/$side /" >>"$OUT"
  done
done

echo
echo "== summary ($(date -u +%Y-%m-%d), $ROUNDS rounds of $DURATION s)"
python3 - "$OUT" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, engine, rest = line.split(" ", 2)
    rate = float(re.search(r"([0-9.]+) redemptions/s", rest).group(1))
    pgbench = re.search(r"pgbench tpcb-like ([0-9.]+) tps", rest)
    runs.setdefault((engine.rstrip(":"), side), []).append((rate, float(pgbench.group(1)) if pgbench else None))
for engine in ("PostgreSQL", "SQLite"):
    old = [r for r, _ in runs.get((engine, "old"), [])]
    new = [r for r, _ in runs.get((engine, "new"), [])]
    if not old or not new:
        continue
    a, b = statistics.median(old), statistics.median(new)
    print(f"{engine}: old {a:.0f}/s (runs {', '.join(f'{r:.0f}' for r in old)}), "
          f"new {b:.0f}/s (runs {', '.join(f'{r:.0f}' for r in new)}): change {100 * (b - a) / a:+.1f} % (goal within 5 %)")
    if engine == "PostgreSQL":
        ratio = lambda side: statistics.median(r / p for r, p in runs[(engine, side)])
        print(f"  rate / pgbench: old {ratio('old'):.2f}, new {ratio('new'):.2f}")
PY

#!/usr/bin/env bash
# Redemption throughput with and without the statistics aggregates (issue 7: within 10 %).
# Runs bench/redeem.sh alternately without the server's statistics refresh
# (PASSERELLE_STATISTICS_INTERVAL_MS=0) and with it (the default, every 5 s), ROUNDS times each,
# and prints each run and the median of each side, per engine. Alternating spreads the machine's
# drift over both sides; the pgbench rate measured in each run shows that drift.
#
#   bash bench/stats_throughput.sh                 # 3 rounds, 15 s per measurement
#   ROUNDS=5 DURATION=20 bash bench/stats_throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
export DURATION="${DURATION:-15}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

for round in $(seq 1 "$ROUNDS"); do
  for side in without with; do
    if [ "$side" = without ]; then interval=0; else interval=5000; fi
    echo "== round $round, $side statistics (PASSERELLE_STATISTICS_INTERVAL_MS=$interval)"
    summary=$(PASSERELLE_STATISTICS_INTERVAL_MS=$interval bash bench/redeem.sh 2>/dev/null | grep -E '^(PostgreSQL|SQLite):')
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
    without = [r for r, _ in runs.get((engine, "without"), [])]
    with_ = [r for r, _ in runs.get((engine, "with"), [])]
    if not without or not with_:
        continue
    a, b = statistics.median(without), statistics.median(with_)
    print(f"{engine}: without statistics {a:.0f}/s (runs {', '.join(f'{r:.0f}' for r in without)}), "
          f"with {b:.0f}/s (runs {', '.join(f'{r:.0f}' for r in with_)}): change {100 * (b - a) / a:+.1f} % (goal within 10 %)")
    if engine == "PostgreSQL":
        ratio = lambda side: statistics.median(r / p for r, p in runs[(engine, side)])
        print(f"  rate / pgbench: without {ratio('without'):.2f}, with {ratio('with'):.2f}")
PY

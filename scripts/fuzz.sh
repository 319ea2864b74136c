#!/usr/bin/env bash
# Fuzzing of every parser of outside data (fuzz/fuzz_targets): scanned codes, files of mediation
# places, bank details, export manifests, camera frames. Each target runs FUZZ_SECONDS (default
# 15) under libFuzzer through cargo-fuzz, on the stable toolchain (no sanitizer: Rust's own
# checks, debug assertions and the targets' assertions catch faults). A crash fails the script
# and leaves its input in fuzz/artifacts/. Installs cargo-fuzz when missing.
#   bash scripts/fuzz.sh
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh csv_import
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-15}"
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "Installation de cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz --version 0.13.2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scan csv_import bank manifest camera_frame)
cargo fuzz build -s none --dev
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  line=$(cargo fuzz run -s none --dev "$t" -- -max_total_time="$SECONDS_PER_TARGET" 2>&1 | tee "/tmp/fuzz-$t.log" | grep -E "^Done" || true)
  if [ -z "$line" ]; then
    echo "fuzz $t : ÉCHEC" >&2
    tail -30 "/tmp/fuzz-$t.log" >&2
    exit 1
  fi
  echo "fuzz $t : $line, aucune panne"
done

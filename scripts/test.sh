#!/usr/bin/env bash
# The whole test suite: every database-touching test runs on SQLite and on PostgreSQL.
# PostgreSQL comes from PASSERELLE_TEST_POSTGRES_URL (default: the local server); when it is
# unreachable the suite fails — it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

export PASSERELLE_TEST_POSTGRES_URL="${PASSERELLE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -d "$PASSERELLE_TEST_POSTGRES_URL" -t 10; then
    echo "PostgreSQL injoignable à $PASSERELLE_TEST_POSTGRES_URL : les tests PostgreSQL ne peuvent pas tourner." >&2
    exit 1
  fi
fi
if command -v psql >/dev/null 2>&1; then
  # Schemas left behind by an interrupted earlier run (each test makes its own t_* schema).
  psql -q -X "$PASSERELLE_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || true
SET client_min_messages = warning;
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$;
SQL
fi

# The official SEPA schema (ISO 20022 pain.001.001.09) as published in the PyPI package sepaxml,
# for the tests that validate every generated transfer file with xmllint.
XSD_DIR="${CARGO_TARGET_DIR:-target}/sepa-xsd"
XSD="$XSD_DIR/pain.001.001.09.xsd"
XSD_SHA256=de038b373e47b0077b1832ddd81f4b2f1eb25d35721f62da1e38b7f5a09fda24
if [ ! -f "$XSD" ]; then
  mkdir -p "$XSD_DIR"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --dest "$tmp" "sepaxml==2.7.0"
  python3 - "$tmp" "$XSD" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/sepaxml-*.whl")[0]
with open(sys.argv[2], "wb") as out:
    out.write(zipfile.ZipFile(wheel).read("sepaxml/schemas/pain.001.001.09.xsd"))
PY
  rm -rf "$tmp"
fi
echo "$XSD_SHA256  $XSD" | sha256sum --check --quiet
export PASSERELLE_SEPA_XSD="$(cd "$XSD_DIR" && pwd)/pain.001.001.09.xsd"

# The browser tests' packages (playwright-core drives Debian's Chromium; axe-core checks
# accessibility), at the versions of browser-tests/package-lock.json.
if [ ! -d browser-tests/node_modules/playwright-core ] || [ browser-tests/package-lock.json -nt browser-tests/node_modules ]; then
  (cd browser-tests && npm ci --silent --no-audit --no-fund)
fi

cargo test --workspace --locked --no-fail-fast "$@"

# Every parser of outside data under libFuzzer for a bounded time (FUZZ_SECONDS per target).
bash scripts/fuzz.sh

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
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$;
SQL
fi

cargo test --workspace --locked "$@"

# What the benchmark scripts share; each sources it after `cd` to the repository's root:
#
#   . bench/lib.sh
#
# ADMIN_URL (from PASSERELLE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test)
# names the PostgreSQL server's administration database; the scripts create and drop their own.

ADMIN_URL="${PASSERELLE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# need TOOL… — stops with the Debian package to install when a tool is missing.
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "$tool manquant (apt-get install postgresql-client curl)" >&2
      exit 1
    }
  done
}

# release_binary — sets BIN: PASSERELLE_BIN when given (to compare two builds in turn; built
# with `--features bench` too), else this checkout's release build with the `bench` feature (the
# load generators `passerelle bench …` and `passerelle loadtest`), built now.
release_binary() {
  BIN="${PASSERELLE_BIN:-}"
  if [ -z "$BIN" ]; then
    echo "== build (release)"
    cargo build --release --locked --quiet --features bench
    BIN="$PWD/target/release/passerelle"
  fi
}

# fresh_db NAME — an empty database NAME on the server (dropped first if it exists).
fresh_db() {
  psql -q -X "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
    -c "CREATE DATABASE $1" >/dev/null
}

# drop_db NAME… — drops these databases, quietly (for cleanup traps).
drop_db() {
  for name in "$@"; do
    psql -q -X "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $name" \
      >/dev/null 2>&1 || true
  done
}

# server_env DATABASE_URL DIR PORT LOG_LEVEL — the environment of `passerelle` commands for a
# benchmark: keys in DIR/keys, listening on 127.0.0.1:PORT, scan rate limits out of the way.
server_env() {
  export DATABASE_URL="$1" PASSERELLE_KEY_DIR="$2/keys" PASSERELLE_LISTEN="127.0.0.1:$3" RUST_LOG="$4" \
    PASSERELLE_SCANS_PER_MINUTE_PER_USER=10000000 PASSERELLE_SCANS_PER_MINUTE_PER_SITE=10000000
}

# wait_healthy BASE_URL — waits up to 10 s for the server's /healthz; fails if it never answers.
wait_healthy() {
  for _ in $(seq 1 100); do
    curl -fsS "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "le serveur ne répond pas sur $1 (voir son journal)" >&2
  return 1
}

#!/usr/bin/env bash
# Runs pgx's own test suite (packages pgx, pgconn and pgtype of the pgx
# version airlock builds with) twice: directly against the local
# PostgreSQL, and through an airlock in front of it, then prints both pass
# counts and every test whose outcome differs.
#
# Each run gets a fresh database set up as pgx's CONTRIBUTING.md says
# (hstore, ltree, the uint64 domain). Through airlock the suite runs as user
# "pgx" in a standing ddl session with the ddl credential postgres, undo
# off and every built-in rule off that can be (escape stays: settings that
# airlock pins, standard_conforming_strings and client_encoding, are
# denied on purpose). pgx's source comes from the Go module cache
# (go mod download), at the version in go.mod.
#
#   scripts/pgx-suite.sh                  both runs
#   scripts/pgx-suite.sh -run TestCopyFrom  extra arguments go to go test
#
# Environment: PGX_SUITE_ONLY=airlock|direct runs one side;
# PGX_SUITE_KEEP=1 keeps the work directory (go test -json output and the
# airlock log); PGX_SUITE_TIMEOUT (default 10m) is go test's -timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_HOST=127.0.0.1
PG_PORT=5432
TIMEOUT=${PGX_SUITE_TIMEOUT:-10m}
ONLY=${PGX_SUITE_ONLY:-}
PYTHON=/usr/bin/python3

# free_port prints a TCP port free on loopback now.
free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
AIRLOCK_PORT=${PGX_SUITE_PORT:-$(free_port)}
HTTP_PORT=${PGX_SUITE_HTTP_PORT:-$(free_port)}

log() { echo "pgx-suite: $*" >&2; }

WORK=$(mktemp -d /tmp/airlock-pgx-suite.XXXXXX)
pids=()
dbs=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${dbs[@]}"; do psql_admin -d postgres -c "DROP DATABASE IF EXISTS $p WITH (FORCE)" >/dev/null 2>&1 || true; done
  if [ -z "${PGX_SUITE_KEEP:-}" ]; then
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  else
    log "kept $WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h $PG_HOST -p $PG_PORT -U postgres "$@"; }

# pgx's module source at the version airlock uses.
version=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/jackc/pgx/v5)
src=$(cd "$ROOT" && go mod download -json "github.com/jackc/pgx/v5@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$src" ] || { log "pgx $version is not in the module cache"; exit 1; }
cp -r "$src" "$WORK/pgx"
chmod -R u+w "$WORK/pgx"
log "pgx $version from $src"

# fresh_db NAME creates a database as pgx's tests want it.
fresh_db() {
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
  dbs+=("$1")
  psql_admin -d "$1" >/dev/null <<'SQL'
CREATE EXTENSION hstore;
CREATE EXTENSION ltree;
CREATE DOMAIN uint64 AS numeric(20,0);
SQL
}

# Build the test binaries once, outside the timed runs.
(cd "$WORK/pgx" && go test -count=1 -run '^$' . ./pgconn ./pgtype >/dev/null)

# run NAME CONNSTRING: the suite's go test -json output in $WORK/NAME.json
# and its wall time in seconds on stdout.
run() {
  local name=$1 conn=$2 t0 t1
  t0=$(date +%s.%N)
  (cd "$WORK/pgx" && PGX_TEST_DATABASE="$conn" PGSSLMODE=disable \
    go test -count=1 -json -timeout "$TIMEOUT" "${@:3}" . ./pgconn ./pgtype >"$WORK/$name.json" 2>"$WORK/$name.err") || true
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b-a}'
}

suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
direct_s="" airlock_s=""
if [ "$ONLY" != airlock ]; then
  fresh_db "pgx_direct_$suffix"
  log "running the suite directly"
  direct_s=$(run direct "host=$PG_HOST port=$PG_PORT user=postgres dbname=pgx_direct_$suffix sslmode=disable" "$@")
fi

if [ "$ONLY" != direct ]; then
  db=pgx_airlock_$suffix
  fresh_db "$db"
  (cd "$ROOT" && go build -o "$WORK/airlock" ./cmd/airlock)
  cat >"$WORK/airlock.yaml" <<YAML
listen:
  postgres: "127.0.0.1:$AIRLOCK_PORT"
  http: "127.0.0.1:$HTTP_PORT"
store: "sqlite:airlock.db"
log: {level: warn}
tokens: {default_ttl: 2h, max_ttl: 2h}
users:
  - {name: postgres, groups: [pgx]}
databases:
  - name: $db
    engine: postgres
    address: "$PG_HOST:$PG_PORT"
    database: $db
    tls: disable
    credentials:
      read: {user: postgres, password: unused}
      ddl: {user: postgres, password: unused}
    undo: "off"
    guardrails: {disable: [unbounded-write, protected-table, drop-truncate, blast-radius, resource]}
policies:
  - {name: pgx, groups: [pgx], databases: [$db], standing: ddl}
YAML
  admin=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
  AIRLOCK_BOOTSTRAP_TOKEN=$admin "$WORK/airlock" serve --config "$WORK/airlock.yaml" >"$WORK/airlock.log" 2>&1 &
  pids+=($!)
  up=""
  for _ in $(seq 200); do
    curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$up" ] || { log "airlock did not come up"; cat "$WORK/airlock.log" >&2; exit 1; }
  token=$("$WORK/airlock" tokens issue --server "http://127.0.0.1:$HTTP_PORT" --token "$admin" --user postgres --ttl 2h)
  log "running the suite through airlock"
  airlock_s=$(run airlock "host=127.0.0.1 port=$AIRLOCK_PORT user=postgres password=$token dbname=$db sslmode=disable" "$@")
fi

# Outcomes per test (subtests included) and the differences.
"$PYTHON" - "$WORK" "$direct_s" "$airlock_s" <<'PY'
import json, os, re, sys
work, secs = sys.argv[1], {"direct": sys.argv[2], "airlock": sys.argv[3]}
res = {}
for side in ("direct", "airlock"):
    path = os.path.join(work, side + ".json")
    if not os.path.exists(path):
        continue
    out = {}
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not ev.get("Test"):
                continue
            # Subtests named after temporary files differ by run.
            key = (ev["Package"].rsplit("/v5", 1)[-1].lstrip("/") or "pgx", re.sub(r"/tmp/[^/']*/[^/']*/", "/tmp/.../", ev["Test"]))
            if ev.get("Action") in ("pass", "fail", "skip"):
                out[key] = ev["Action"]
            elif ev.get("Action") == "run":
                out.setdefault(key, "unfinished")
    res[side] = out
for side, out in res.items():
    top = {k: v for k, v in out.items() if "/" not in k[1]}
    n = lambda d, a: sum(1 for v in d.values() if v == a)
    print(f"{side:8} {n(top, 'pass'):4} pass {n(top, 'fail'):3} fail {n(top, 'skip'):3} skip {n(top, 'unfinished'):2} unfinished"
          f"  (with subtests: {n(out, 'pass')} pass, {n(out, 'fail')} fail)  {secs[side]}s")
if len(res) == 2:
    d, a = res["direct"], res["airlock"]
    diff = sorted(k for k in set(d) | set(a) if d.get(k) != a.get(k))
    print(f"{len(diff)} tests differ (package test: direct -> airlock)")
    for k in diff:
        print(f"  {k[0]:7} {k[1]}: {d.get(k, '-')} -> {a.get(k, '-')}")
PY

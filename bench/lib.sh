# Shared setup for the benchmark scripts in bench/ (sourced, not run).
#
# What it provides, from a clean checkout:
#   - the local PostgreSQL running (127.0.0.1:5432, trust auth, SPEC §12);
#   - a pgbench database "airlock_bench" (scale $BENCH_SCALE, default 10;
#     "airlock_bench_undo" with BENCH_PREPARED=1, see airlock_config)
#     and the upstream roles airlock_bench_ro / airlock_bench_rw; for
#     MariaDB (bench_mydb) a sysbench database "airlock_sbtest" and users of
#     the same names;
#   - airlock built from this tree, started on loopback with a config for
#     that database: user "reader" (standing read) and user "writer"
#     (standing write, undo off, blast-radius off so that a write is the
#     plain path: classified, decided, a durable "started" event, forwarded);
#   - pgbouncer (Debian's /usr/sbin/pgbouncer, session mode) as a child
#     process with its own ini in the work directory;
#   - proc_cpu PID: the process's CPU time (utime+stime) in clock ticks.
#
# Everything runs on loopback; every process started here is stopped by
# bench_cleanup (installed as an EXIT trap by bench_init).

set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SCALE=${BENCH_SCALE:-10}
# A prepared database (BENCH_PREPARED=1) has airlock's capture triggers on
# its tables: it is a database of its own, so that the other runs measure
# tables without them.
BENCH_DB=${BENCH_DB:-airlock_bench${BENCH_PREPARED:+_undo}}
PG_HOST=127.0.0.1
PG_PORT=5432
AIRLOCK_PG_PORT=${AIRLOCK_PG_PORT:-25432}
AIRLOCK_MY_PORT=${AIRLOCK_MY_PORT:-23306}
MY_HOST=127.0.0.1
MY_PORT=3306
MY_DB=airlock_sbtest
AIRLOCK_HTTP_PORT=${AIRLOCK_HTTP_PORT:-28080}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-26432}
CLK_TCK=$(getconf CLK_TCK)

bench_pids=()
bench_tmpdirs=()

log() { echo "bench: $*" >&2; }

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${bench_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ -z "${BENCH_KEEP:-}" ]; then
    [ -z "${BENCH_WORK:-}" ] || rm -rf "$BENCH_WORK"
    for p in "${bench_tmpdirs[@]}"; do rm -rf "$p"; done
  fi
}

# bench_init makes the work directory (under bench/.work so that the audit
# store sits on the same disk as a real deployment's, not on a tmpfs).
bench_init() {
  mkdir -p "$BENCH_ROOT/bench/.work"
  BENCH_WORK=$(mktemp -d "$BENCH_ROOT/bench/.work/run.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h $PG_HOST -p $PG_PORT -U postgres "$@"; }

# pg_up starts the local PostgreSQL when it is not running.
pg_up() {
  if ! pg_isready -q -h $PG_HOST -p $PG_PORT; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 60); do pg_isready -q -h $PG_HOST -p $PG_PORT && break; sleep 0.5; done
  fi
}

# bench_db makes the pgbench database and the upstream roles (idempotent:
# an existing database at the right scale is reused).
bench_db() {
  pg_up
  psql_admin -d postgres <<SQL >/dev/null
SELECT 'CREATE ROLE airlock_bench_ro LOGIN PASSWORD ''bench'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airlock_bench_ro') \\gexec
SELECT 'CREATE ROLE airlock_bench_rw LOGIN PASSWORD ''bench'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airlock_bench_rw') \\gexec
SELECT 'CREATE DATABASE $BENCH_DB' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$BENCH_DB') \\gexec
SQL
  local have
  have=$(psql_admin -d $BENCH_DB -Atc "SELECT count(*) FROM pgbench_branches" 2>/dev/null || echo 0)
  if [ "$have" != "$BENCH_SCALE" ]; then
    log "initializing pgbench (scale $BENCH_SCALE)"
    pgbench -q -i -s "$BENCH_SCALE" -h $PG_HOST -p $PG_PORT -U postgres $BENCH_DB >/dev/null 2>&1
  fi
  if [ -n "${BENCH_PREPARED:-}" ]; then
    # A primary key on every table, so that every write can be undone.
    PGOPTIONS="-c client_min_messages=warning" psql_admin -d $BENCH_DB -c "ALTER TABLE pgbench_history ADD COLUMN IF NOT EXISTS hid bigserial PRIMARY KEY" >/dev/null
  fi
  psql_admin -d $BENCH_DB <<SQL >/dev/null
GRANT CONNECT ON DATABASE $BENCH_DB TO airlock_bench_ro, airlock_bench_rw;
GRANT USAGE ON SCHEMA public TO airlock_bench_ro, airlock_bench_rw;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_bench_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO airlock_bench_rw;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO airlock_bench_rw;
SQL
}

my_admin() { mariadb -h $MY_HOST -P $MY_PORT -uroot "$@"; }

# my_up starts the local MariaDB when it is not running.
my_up() {
  if ! my_admin -e 'SELECT 1' >/dev/null 2>&1; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 60); do my_admin -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

# bench_mydb makes the sysbench database (SB_TABLES tables of SB_ROWS rows,
# reused when present) and the upstream users airlock_bench_ro/_rw.
bench_mydb() {
  my_up
  local tables=${SB_TABLES:-4} rows=${SB_ROWS:-100000} have
  my_admin <<SQL
CREATE DATABASE IF NOT EXISTS $MY_DB;
CREATE USER IF NOT EXISTS 'airlock_bench_ro'@'%' IDENTIFIED BY 'bench';
CREATE USER IF NOT EXISTS 'airlock_bench_rw'@'%' IDENTIFIED BY 'bench';
GRANT SELECT, SHOW VIEW ON $MY_DB.* TO 'airlock_bench_ro'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON $MY_DB.* TO 'airlock_bench_rw'@'%';
SQL
  have=$(my_admin -N -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$MY_DB' AND table_name LIKE 'sbtest%'")
  if [ "$have" != "$tables" ] || [ "$(my_admin -N -e "SELECT count(*) FROM $MY_DB.sbtest1" 2>/dev/null)" != "$rows" ]; then
    log "preparing sysbench ($tables tables of $rows rows)"
    sysbench oltp_read_only --db-driver=mysql --mysql-host=$MY_HOST --mysql-port=$MY_PORT --mysql-user=root \
      --mysql-db=$MY_DB --tables="$tables" cleanup >/dev/null 2>&1 || true
    sysbench oltp_read_only --db-driver=mysql --mysql-host=$MY_HOST --mysql-port=$MY_PORT --mysql-user=root \
      --mysql-db=$MY_DB --tables="$tables" --table-size="$rows" prepare >/dev/null
  fi
}

# airlock_build builds airlock from this tree into $AIRLOCK_DIR (default:
# the work directory); with a git ref as $1, from that commit instead (for
# before/after comparisons: BASELINE_REF in bench/pgbench.sh).
airlock_build() {
  local dir=${AIRLOCK_DIR:-$BENCH_WORK}
  mkdir -p "$dir"
  if [ -n "${1:-}" ]; then
    rm -rf "$dir/src" && mkdir -p "$dir/src"
    git -C "$BENCH_ROOT" archive "$1" | tar -x -C "$dir/src"
    (cd "$dir/src" && go build -o "$dir/airlock" ./cmd/airlock)
  else
    (cd "$BENCH_ROOT" && go build -o "$dir/airlock" ./cmd/airlock)
  fi
}

# airlock_config writes the config; $1 (optional) overrides the upstream
# address (the memory benchmark puts a pgbouncer in transaction mode there,
# since PostgreSQL takes only max_connections sessions). With BENCH_MYSQL=1
# it adds the MySQL listener and the sysbench database "sbtest". With
# BENCH_GUARDED=1 the database "bench" keeps the defaults (blast radius on,
# best_effort undo; not prepared, so nothing is captured): every write is
# guarded. With BENCH_PREPARED=1 as well, the database is airlock_bench_undo
# (pgbench_history given a primary key) and airlock_start prepares it for
# undo (`airlock databases prepare bench`, as the superuser postgres, the
# config's ddl credential): every write's rows are captured.
airlock_config() {
  local upstream=${1:-$PG_HOST:$PG_PORT} mylisten="" mydb="" dbs=bench ddl=""
  local guards='    undo: "off"
    guardrails: {disable: [blast-radius]}'
  [ -z "${BENCH_GUARDED:-}" ] || guards=""
  [ -z "${BENCH_PREPARED:-}" ] || ddl="      ddl:   {user: postgres, password: bench}"
  if [ -n "${BENCH_MYSQL:-}" ]; then
    mylisten="  mysql: \"127.0.0.1:$AIRLOCK_MY_PORT\""
    mydb="  - name: sbtest
    engine: mysql
    address: \"$MY_HOST:$MY_PORT\"
    database: $MY_DB
    tls: disable
    credentials:
      read:  {user: airlock_bench_ro, password: bench}
      write: {user: airlock_bench_rw, password: bench}
    undo: \"off\"
    guardrails: {disable: [blast-radius]}"
    dbs="bench, sbtest"
  fi
  local dir=${AIRLOCK_DIR:-$BENCH_WORK}
  cat >"$dir/airlock.yaml" <<YAML
listen:
  postgres: "127.0.0.1:$AIRLOCK_PG_PORT"
$mylisten
  http: "127.0.0.1:$AIRLOCK_HTTP_PORT"
store: "sqlite:airlock.db"
log: {level: warn}
tokens: {default_ttl: 12h, max_ttl: 12h}
users:
  - {name: reader, groups: [readers]}
  - {name: writer, groups: [writers]}
databases:
  - name: bench
    engine: postgres
    address: "$upstream"
    database: $BENCH_DB
    tls: disable
    credentials:
      read:  {user: airlock_bench_ro, password: bench}
      write: {user: airlock_bench_rw, password: bench}
$ddl
$guards
$mydb
policies:
  - {name: bench-read, groups: [readers], databases: [$dbs], standing: read}
  - {name: bench-write, groups: [writers], databases: [$dbs], standing: write}
YAML
}

# airlock_start starts the airlock built in $AIRLOCK_DIR (default: the work
# directory) with its config there (AIRLOCK_PID) and issues the tokens
# (READER_TOKEN, WRITER_TOKEN) through its API.
airlock_start() {
  local dir=${AIRLOCK_DIR:-$BENCH_WORK}
  [ -f "$dir/airlock.yaml" ] || airlock_config
  if curl -fsS "http://127.0.0.1:$AIRLOCK_HTTP_PORT/healthz" >/dev/null 2>&1; then
    log "something already answers on 127.0.0.1:$AIRLOCK_HTTP_PORT (set AIRLOCK_HTTP_PORT, AIRLOCK_PG_PORT, ...)"
    return 1
  fi
  local admin
  admin=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
  AIRLOCK_BOOTSTRAP_TOKEN=$admin "$dir/airlock" serve --config "$dir/airlock.yaml" >"$dir/airlock.log" 2>&1 &
  AIRLOCK_PID=$!
  bench_pids+=("$AIRLOCK_PID")
  local up=""
  for _ in $(seq 200); do
    curl -fsS "http://127.0.0.1:$AIRLOCK_HTTP_PORT/healthz" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$AIRLOCK_PID" 2>/dev/null || { cat "$dir/airlock.log" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$up" ] || { log "airlock did not come up"; cat "$dir/airlock.log" >&2; return 1; }
  local srv=(--server "http://127.0.0.1:$AIRLOCK_HTTP_PORT" --token "$admin")
  READER_TOKEN=$("$dir/airlock" tokens issue "${srv[@]}" --user reader --ttl 12h)
  WRITER_TOKEN=$("$dir/airlock" tokens issue "${srv[@]}" --user writer --ttl 12h)
  [ -z "${BENCH_PREPARED:-}" ] || "$dir/airlock" databases prepare bench "${srv[@]}" >/dev/null
}

# baseline_start REF builds airlock at git ref REF and starts it on the
# ports after this run's (AIRLOCK_*_PORT + 1) with a store of its own, for
# before/after comparisons in one interleaving: BASE_PID, BASE_READER and
# BASE_WRITER (its tokens).
baseline_start() {
  local ports=("$AIRLOCK_PG_PORT" "$AIRLOCK_HTTP_PORT" "$AIRLOCK_MY_PORT")
  AIRLOCK_DIR=$BENCH_WORK/baseline AIRLOCK_PG_PORT=$((ports[0] + 1)) AIRLOCK_HTTP_PORT=$((ports[1] + 1)) AIRLOCK_MY_PORT=$((ports[2] + 1))
  airlock_build "$1"
  airlock_config
  airlock_start
  BASE_PID=$AIRLOCK_PID BASE_READER=$READER_TOKEN BASE_WRITER=$WRITER_TOKEN
  AIRLOCK_DIR=$BENCH_WORK AIRLOCK_PG_PORT=${ports[0]} AIRLOCK_HTTP_PORT=${ports[1]} AIRLOCK_MY_PORT=${ports[2]}
}

# pgbouncer_start MODE [PORT] starts pgbouncer (PGBOUNCER_PID) in pool mode
# MODE (session or transaction) in front of the local PostgreSQL (trust),
# for the users postgres and the two upstream roles (auth_type trust).
pgbouncer_start() {
  local mode=$1 port=${2:-$PGBOUNCER_PORT} dir run_as=()
  # pgbouncer refuses to run as root: as root, it switches to postgres,
  # which must own its temporary directory.
  dir=$(mktemp -d /tmp/airlock-bench-pgbouncer.XXXXXX)
  bench_tmpdirs+=("$dir")
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    run_as=(-u postgres)
  fi
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
$BENCH_DB = host=$PG_HOST port=$PG_PORT dbname=$BENCH_DB
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = $mode
max_client_conn = ${PGBOUNCER_MAX_CLIENTS:-2000}
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
ignore_startup_parameters = extra_float_digits,default_transaction_read_only,statement_timeout
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  # With auth_type trust, pgbouncer still wants the user in auth_file.
  printf '"%s" ""\n' postgres airlock_bench_ro airlock_bench_rw >"$dir/users.txt"
  /usr/sbin/pgbouncer "${run_as[@]}" "$dir/pgbouncer.ini" >"$dir/stdout.log" 2>&1 &
  PGBOUNCER_PID=$!
  bench_pids+=("$PGBOUNCER_PID")
  for _ in $(seq 100); do
    pg_isready -q -h 127.0.0.1 -p "$port" -d $BENCH_DB && return 0
    kill -0 "$PGBOUNCER_PID" 2>/dev/null || { cat "$dir"/*.log >&2; return 1; }
    sleep 0.1
  done
  log "pgbouncer did not come up"; cat "$dir"/*.log >&2; return 1
}

# relay_start MODE PORT UPSTREAM starts a bare Go relay of bench/relayfloor
# (built into the work directory on first use) in MODE (epoll, goroutine or
# sync) on 127.0.0.1:PORT in front of UPSTREAM (RELAY_PID).
relay_start() {
  [ -x "$BENCH_WORK/relayfloor" ] || (cd "$BENCH_ROOT" && go build -o "$BENCH_WORK/relayfloor" ./bench/relayfloor)
  "$BENCH_WORK/relayfloor" -mode "$1" -listen "127.0.0.1:$2" -upstream "$3" &
  RELAY_PID=$!
  bench_pids+=("$RELAY_PID")
}

# proc_cpu PID prints the process's utime+stime in clock ticks.
proc_cpu() {
  # Fields after the command name (which may hold spaces): utime is the
  # 14th field of the line, stime the 15th.
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) }
  set -- $stat
  echo $(( ${12} + ${13} ))
}

# median prints the median of its arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'
}

# machine_note prints what the numbers depend on.
machine_note() {
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "versions: $(go version | cut -d' ' -f3), $(pgbench --version), $(/usr/sbin/pgbouncer --version | head -1), MariaDB $(my_admin -N -e 'SELECT VERSION()' 2>/dev/null || echo '?'), airlock $(cd "$BENCH_ROOT" && git describe --always --dirty 2>/dev/null || echo '?')"
}

#!/usr/bin/env bash
# Memory per idle session: opens N (default 1000) pgx connections through
# airlock (each runs SELECT 1, then stays idle) and reports the airlock
# process's resident memory and Go heap before and after, per session
# (target: at most 64 KiB each, SPEC §11).
#
# PostgreSQL here takes max_connections (100) sessions, and each airlock
# session holds its own upstream connection, so airlock's upstream is a
# pgbouncer in transaction mode (a child process on loopback) that
# multiplexes them onto a few server connections. What airlock holds per
# session (client and upstream sockets, buffers, goroutines, session state)
# is the same as with a direct upstream.
#
#   bench/idle.sh [N]
source "$(dirname "$0")/lib.sh"

N=${1:-1000}
PPROF_ADDR=127.0.0.1:${PPROF_PORT:-26060}

bench_init
bench_db
airlock_build
PGBOUNCER_POOL_SIZE=10 PGBOUNCER_MAX_CLIENTS=$((N + 100)) pgbouncer_start transaction
airlock_config "127.0.0.1:$PGBOUNCER_PORT"
AIRLOCK_PPROF=$PPROF_ADDR airlock_start

machine_note
(cd "$BENCH_ROOT" && go run ./bench/idlesessions -pid "$AIRLOCK_PID" -pprof "$PPROF_ADDR" -n "$N" \
  -dsn "postgres://reader:$READER_TOKEN@127.0.0.1:$AIRLOCK_PG_PORT/bench?sslmode=disable&default_query_exec_mode=simple_protocol")

#!/usr/bin/env bash
# Per-statement latency of pgbench's TPC-B-like script (pgbench -r)
# through airlock, an approved write session, and directly: where a
# transaction's time goes, statement by statement. BENCH_GUARDED=1 and
# BENCH_PREPARED=1 select the defaults and the database prepared for undo
# as for bench/pgbench.sh (see bench/lib.sh).
#
#   bench/latency.sh
#
# Environment: DURATION (default 10), CLIENTS (1: no waits for locks or
# for other sessions' syncs), BENCH_SCALE (10).
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-1}
THREADS=$((CLIENTS > 1 ? 2 : 1))
bench_init
bench_db
airlock_build
airlock_config
airlock_start
machine_note
echo "through airlock:"
PGSSLMODE=disable PGPASSWORD=$WRITER_TOKEN pgbench -n -r -M simple -T "$DURATION" -c "$CLIENTS" -j "$THREADS" \
  -h 127.0.0.1 -p "$AIRLOCK_PG_PORT" -U writer bench 2>&1 | sed -n '/^tps/,$p' | grep -v '\\set'
echo "directly:"
PGSSLMODE=disable pgbench -n -r -M simple -T "$DURATION" -c "$CLIENTS" -j "$THREADS" \
  -h 127.0.0.1 -p "$PG_PORT" -U postgres "$BENCH_DB" 2>&1 | sed -n '/^tps/,$p' | grep -v '\\set'

#!/usr/bin/env bash
# Which system calls each proxy makes per transaction: pgbench -S (simple
# protocol, one client, a fixed number of transactions) through airlock (a
# read session), the one-goroutine bare relay (bench/relayfloor -mode sync)
# and pgbouncer (session mode), each under `strace -c -f`, printing the
# calls per transaction of each beside the others. It tells where airlock's
# extra system time (bench/floor.sh airlock) comes from. Counts, not times:
# strace slows every call, so only the counts are meaningful.
#
#   bench/syscalls.sh [select|tpcb]
#
# tpcb: pgbench's TPC-B-like script instead of -S, through an airlock write
# session (blast radius and undo off, as bench/pgbench.sh tpcb); the audit's
# fdatasync calls show there.
#
# Environment: TX transactions per proxy (default 5000), BENCH_SCALE (10).
source "$(dirname "$0")/lib.sh"

MODE=${1:-select}
TX=${TX:-5000}
CLIENTS=${CLIENTS:-1}
case $MODE in
  select) script=(-S) ;;
  tpcb) script=() ;;
  *) log "unknown mode $MODE (select or tpcb)"; exit 2 ;;
esac
SYNC_PORT=${SYNC_PORT:-26997}

command -v strace >/dev/null || { log "strace is not installed (Debian package strace)"; exit 1; }
bench_init
bench_db
pgbouncer_start session
airlock_build
airlock_config
airlock_start
(cd "$BENCH_ROOT" && go build -o "$BENCH_WORK/relayfloor" ./bench/relayfloor)
"$BENCH_WORK/relayfloor" -mode sync -listen 127.0.0.1:$SYNC_PORT -upstream $PG_HOST:$PG_PORT &
SYNC_PID=$!
bench_pids+=("$SYNC_PID")
sleep 1

# count NAME PORT PID USER DB [ENV...]: strace -c the process while pgbench
# runs TX transactions through it; writes "syscall calls" lines to
# $BENCH_WORK/NAME.counts.
count() {
  local name=$1 port=$2 pid=$3 user=$4 db=$5 st
  shift 5
  strace -c -f -q -o "$BENCH_WORK/$name.strace" -p "$pid" &
  st=$!
  sleep 1
  env PGSSLMODE=disable "$@" pgbench -n "${script[@]}" -M simple -t "$((TX / CLIENTS))" -c "$CLIENTS" -j "$((CLIENTS > 1 ? 2 : 1))" -h 127.0.0.1 -p "$port" -U "$user" "$db" >/dev/null
  kill -INT "$st"
  wait "$st" 2>/dev/null || true
  awk 'NF>=5 && $1 ~ /^[0-9.]+$/ { print $NF, $4 }' "$BENCH_WORK/$name.strace" >"$BENCH_WORK/$name.counts"
}

machine_note
if [ "$MODE" = tpcb ]; then
  count airlock "$AIRLOCK_PG_PORT" "$AIRLOCK_PID" writer bench PGPASSWORD="$WRITER_TOKEN"
else
  count airlock "$AIRLOCK_PG_PORT" "$AIRLOCK_PID" reader bench PGPASSWORD="$READER_TOKEN"
fi
count relay $SYNC_PORT "$SYNC_PID" postgres $BENCH_DB
count pgbouncer "$PGBOUNCER_PORT" "$PGBOUNCER_PID" postgres $BENCH_DB

printf '\n%-20s %10s %10s %10s\n' syscall airlock relay pgbouncer
cat "$BENCH_WORK"/{airlock,relay,pgbouncer}.counts | awk '{print $1}' | sort -u | while read -r sc; do
  a=$(awk -v s="$sc" '$1==s{print $2}' "$BENCH_WORK/airlock.counts")
  r=$(awk -v s="$sc" '$1==s{print $2}' "$BENCH_WORK/relay.counts")
  b=$(awk -v s="$sc" '$1==s{print $2}' "$BENCH_WORK/pgbouncer.counts")
  awk -v s="$sc" -v a="${a:-0}" -v r="${r:-0}" -v b="${b:-0}" -v n="$TX" \
    'BEGIN{ if (a+r+b >= n/100) printf "%-20s %10.2f %10.2f %10.2f\n", s, a/n, r/n, b/n }'
done | sort -k2 -nr
echo "system calls per pgbench ${script[*]:-TPC-B-like} transaction ($CLIENTS clients, $TX transactions, connection setup included; calls under one per hundred transactions left out)"

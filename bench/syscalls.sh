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
# sysbench: MariaDB instead, sysbench oltp_read_only (prepared statements)
# through airlock (a read session) and through the bare Go relay
# (bench/relayfloor -mode goroutine), per statement; CLIENTS is sysbench's
# threads, TX its transactions (16 statements each).
#
# Environment: TX transactions per proxy (default 5000), BENCH_SCALE (10).
source "$(dirname "$0")/lib.sh"

MODE=${1:-select}
TX=${TX:-5000}
CLIENTS=${CLIENTS:-1}
case $MODE in
  select) script=(-S) ;;
  tpcb) script=() ;;
  sysbench) export BENCH_MYSQL=1 ;;
  *) log "unknown mode $MODE (select, tpcb or sysbench)"; exit 2 ;;
esac
SYNC_PORT=${SYNC_PORT:-26997}
RELAY_PORT=${RELAY_PORT:-26996}

command -v strace >/dev/null || { log "strace is not installed (Debian package strace)"; exit 1; }
bench_init

if [ "$MODE" = sysbench ]; then
  bench_mydb
  bench_db
  airlock_build
  airlock_config
  airlock_start
  relay_start goroutine "$RELAY_PORT" $MY_HOST:$MY_PORT
  sleep 1
  # sbcount NAME PID SYSBENCH-ARGS...: as count below, with sysbench; the
  # statements it ran go to $BENCH_WORK/NAME.queries.
  sbcount() {
    local name=$1 pid=$2 st
    shift 2
    strace -c -f -q -o "$BENCH_WORK/$name.strace" -p "$pid" &
    st=$!
    sleep 1
    sysbench oltp_read_only --db-driver=mysql --tables="${SB_TABLES:-4}" --table-size="${SB_ROWS:-100000}" \
      --threads="$CLIENTS" --events="$TX" --time=0 --mysql-host=127.0.0.1 --mysql-ssl=off "$@" run \
      | sed -n 's/^ *queries: *\([0-9]*\) .*/\1/p' >"$BENCH_WORK/$name.queries"
    kill -INT "$st"
    wait "$st" 2>/dev/null || true
    awk 'NF>=5 && $1 ~ /^[0-9.]+$/ { print $NF, $4 }' "$BENCH_WORK/$name.strace" >"$BENCH_WORK/$name.counts"
  }
  machine_note
  sbcount airlock "$AIRLOCK_PID" --mysql-port="$AIRLOCK_MY_PORT" --mysql-user=reader --mysql-password="$READER_TOKEN" --mysql-db=sbtest
  sbcount relay "$RELAY_PID" --mysql-port="$RELAY_PORT" --mysql-user=root --mysql-db=$MY_DB
  qa=$(cat "$BENCH_WORK/airlock.queries") qr=$(cat "$BENCH_WORK/relay.queries")
  printf '\n%-20s %10s %10s\n' syscall airlock relay
  cat "$BENCH_WORK"/{airlock,relay}.counts | awk '{print $1}' | sort -u | while read -r sc; do
    a=$(awk -v s="$sc" '$1==s{print $2}' "$BENCH_WORK/airlock.counts")
    r=$(awk -v s="$sc" '$1==s{print $2}' "$BENCH_WORK/relay.counts")
    awk -v s="$sc" -v a="${a:-0}" -v r="${r:-0}" -v qa="$qa" -v qr="$qr" \
      'BEGIN{ if (a/qa + r/qr >= 0.01) printf "%-20s %10.2f %10.2f\n", s, a/qa, r/qr }'
  done | sort -k2 -nr
  echo "system calls per statement of sysbench oltp_read_only ($CLIENTS threads, $TX transactions: $qa statements through airlock, $qr through the relay; calls under one per hundred statements left out)"
  exit 0
fi
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

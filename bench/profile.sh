#!/usr/bin/env bash
# CPU profile of airlock under pgbench: starts airlock (as bench/pgbench.sh
# does) with AIRLOCK_PPROF on loopback, runs pgbench through it for
# DURATION seconds while /debug/pprof/profile records, and prints the top
# entries (flat and cumulative). The profile is kept as OUT (default
# bench/.work/MODE.pprof) for `go tool pprof`.
#
#   bench/profile.sh [select-simple|select-extended|select-prepared|tpcb|sysbench]
#
# sysbench: oltp_read_only against MariaDB through airlock's MySQL
# listener (as bench/sysbench.sh runs it); the figure is per transaction
# (16 statements).
#
# Environment: DURATION (default 20), CLIENTS (8), THREADS (2), TOP (30).
source "$(dirname "$0")/lib.sh"

mode=${1:-select-simple}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
TOP=${TOP:-30}
PPROF_ADDR=127.0.0.1:${PPROF_PORT:-26060}
OUT=${OUT:-$BENCH_ROOT/bench/.work/$mode.pprof}

[ "$mode" = sysbench ] && export BENCH_MYSQL=1
bench_init
bench_db
[ "$mode" = sysbench ] && bench_mydb
airlock_build
airlock_config
AIRLOCK_PPROF=$PPROF_ADDR airlock_start

args=(-n -T "$DURATION" -c "$CLIENTS" -j "$THREADS" -h 127.0.0.1 -p "$AIRLOCK_PG_PORT" -d bench)
case $mode in
  select-simple) args+=(-S -M simple -U reader) pw=$READER_TOKEN ;;
  select-extended) args+=(-S -M extended -U reader) pw=$READER_TOKEN ;;
  select-prepared) args+=(-S -M prepared -U reader) pw=$READER_TOKEN ;;
  tpcb) args+=(-M simple -U writer) pw=$WRITER_TOKEN ;;
  sysbench) ;;
  *) log "unknown mode $mode"; exit 2 ;;
esac
before=$(proc_cpu "$AIRLOCK_PID")
if [ "$mode" = sysbench ]; then
  sysbench oltp_read_only --db-driver=mysql --tables="${SB_TABLES:-4}" --table-size="${SB_ROWS:-100000}" \
    --threads="$CLIENTS" --time="$DURATION" --mysql-host=127.0.0.1 --mysql-ssl=off \
    --mysql-port="$AIRLOCK_MY_PORT" --mysql-user=reader --mysql-password="$READER_TOKEN" --mysql-db=sbtest run \
    | sed -n 's/^ *transactions: *\([0-9]*\) *(\([0-9.]*\) per sec.)/number of transactions actually processed: \1\ntps = \2/p' \
    >"$BENCH_WORK/pgbench.out" 2>&1 &
else
  PGSSLMODE=disable PGPASSWORD=$pw pgbench "${args[@]}" >"$BENCH_WORK/pgbench.out" 2>&1 &
fi
pgb=$!
sleep 1
curl -fsS -o "$OUT" "http://$PPROF_ADDR/debug/pprof/profile?seconds=$((DURATION - 3))"
wait $pgb || { cat "$BENCH_WORK/pgbench.out" >&2; exit 1; }
sleep 0.3
after=$(proc_cpu "$AIRLOCK_PID")
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BENCH_WORK/pgbench.out")
machine_note
grep '^tps' "$BENCH_WORK/pgbench.out"
awk -v t="$((after - before))" -v n="$tx" -v hz="$CLK_TCK" 'BEGIN{printf "airlock CPU per transaction: %.1f us (%d transactions)\n", t/hz/n*1e6, n}'
echo "profile: $OUT"
echo
(cd "$BENCH_ROOT" && go tool pprof -top -nodecount="$TOP" "$BENCH_WORK/airlock" "$OUT" 2>/dev/null)
echo
(cd "$BENCH_ROOT" && go tool pprof -top -cum -nodecount="$TOP" "$BENCH_WORK/airlock" "$OUT" 2>/dev/null)

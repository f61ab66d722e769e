#!/usr/bin/env bash
# pgbench through airlock vs direct vs pgbouncer (session mode), interleaved
# (airlock, direct, pgbouncer, airlock, direct, pgbouncer, ...), reporting
# medians. The figure that decides is the CPU time the proxy process spends
# per transaction (utime+stime from /proc/PID/stat over the run, divided by
# the transactions pgbench processed), for airlock and pgbouncer measured in
# the same run; TPS ratios are reported too (they swing with the machine's
# load: ±30% on these 2-core machines).
#
#   bench/pgbench.sh                       every mode
#   bench/pgbench.sh select-simple tpcb    some of them
#
# Modes: select-simple, select-extended, select-prepared (pgbench -S with
# -M simple/extended/prepared, as user "reader": a read session) and tpcb
# (pgbench's TPC-B-like default script, -M simple, as user "writer": a
# session with standing write, so that every UPDATE/INSERT is forwarded only
# after its audit event is fsynced, and every END waits for the events
# before it).
#
# Environment: ROUNDS (default 5), DURATION seconds per run (10), CLIENTS
# (8), THREADS (2), BENCH_SCALE (10), RATE (pgbench -R: a fixed rate of
# transactions per second instead of as many as possible), BENCH_KEEP=1
# keeps the work directory (airlock's log and audit store) under
# bench/.work, AIRLOCK_PPROF=ADDR exposes airlock's /debug/pprof (see
# bench/profile.sh). BASELINE_REF=REF (a git ref, e.g. HEAD) also builds
# airlock at that commit and runs it as a fourth target in the same
# interleaving, for before/after comparisons of a change. BENCH_GUARDED=1
# keeps the defaults (blast radius, best_effort undo) on the database;
# with BENCH_PREPARED=1 as well, on a database prepared for undo, so that
# every write's rows are captured (see airlock_config in bench/lib.sh).
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(select-simple select-extended select-prepared tpcb)

bench_init
bench_db
# The baseline first, on the next ports with its own store.
[ -z "${BASELINE_REF:-}" ] || baseline_start "$BASELINE_REF"
airlock_build
airlock_config
AIRLOCK_PPROF=${AIRLOCK_PPROF:-} airlock_start
pgbouncer_start session

# run TARGET MODE: one pgbench run; prints "tps transactions proxy_ticks".
run() {
  local target=$1 mode=$2 args=(-n -T "$DURATION" -c "$CLIENTS" -j "$THREADS" -h 127.0.0.1 ${RATE:+-R "$RATE"}) pid="" env=()
  case $mode in
    select-simple) args+=(-S -M simple) ;;
    select-extended) args+=(-S -M extended) ;;
    select-prepared) args+=(-S -M prepared) ;;
    tpcb) args+=(-M simple) ;;
  esac
  case $target in
    airlock)
      pid=$AIRLOCK_PID
      args+=(-p "$AIRLOCK_PG_PORT" -d bench)
      if [ "$mode" = tpcb ]; then
        env=(PGPASSWORD="$WRITER_TOKEN") args+=(-U writer)
      else
        env=(PGPASSWORD="$READER_TOKEN") args+=(-U reader)
      fi
      ;;
    baseline)
      pid=$BASE_PID
      args+=(-p "$((AIRLOCK_PG_PORT + 1))" -d bench)
      if [ "$mode" = tpcb ]; then
        env=(PGPASSWORD="$BASE_WRITER") args+=(-U writer)
      else
        env=(PGPASSWORD="$BASE_READER") args+=(-U reader)
      fi
      ;;
    direct) args+=(-p "$PG_PORT" -U postgres -d $BENCH_DB) ;;
    pgbouncer) pid=$PGBOUNCER_PID args+=(-p "$PGBOUNCER_PORT" -U postgres -d $BENCH_DB) ;;
  esac
  local before=0 after=0 out
  [ -n "$pid" ] && before=$(proc_cpu "$pid")
  out=$(env PGSSLMODE=disable "${env[@]}" pgbench "${args[@]}" 2>&1) || { echo "$out" >&2; return 1; }
  # Let the proxy finish what the run left (the audit writer's last batch,
  # the sessions' close records) so that it is counted.
  sleep 0.3
  [ -n "$pid" ] && after=$(proc_cpu "$pid")
  local tps tx
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$tps" ] || [ -z "$tx" ] || grep -q 'number of failed transactions: [1-9]' <<<"$out"; then
    echo "$out" >&2
    return 1
  fi
  echo "$tps $tx $((after - before))"
}

machine_note
echo "pgbench: $CLIENTS clients, $THREADS threads, ${DURATION}s per run, $ROUNDS interleaved rounds, scale $BENCH_SCALE${RATE:+, rate $RATE tx/s}${BASELINE_REF:+, baseline $BASELINE_REF ($(git -C "$BENCH_ROOT" rev-parse --short "$BASELINE_REF"))}"
printf '\n%-16s %10s %10s %10s %9s %9s %10s %10s %9s' mode airlock-tps direct-tps bouncer-tps "a/direct" "a/bouncer" "a-cpu-us" "b-cpu-us" "cpu-a/b"
[ -z "${BASELINE_REF:-}" ] || printf ' %10s %10s' "base-tps" "base-cpu-us"
echo
for mode in "${modes[@]}"; do
  psql_admin -d $BENCH_DB -c "VACUUM ANALYZE pgbench_branches, pgbench_tellers" -c "TRUNCATE pgbench_history" >/dev/null
  declare -a ta=() td=() tb=() rd=() rb=() ca=() cb=() rc=() tz=() cz=()
  for r in $(seq "$ROUNDS"); do
    read -r a_tps a_tx a_ticks < <(run airlock "$mode")
    read -r d_tps _ _ < <(run direct "$mode")
    read -r b_tps b_tx b_ticks < <(run pgbouncer "$mode")
    a_us=$(awk -v t="$a_ticks" -v n="$a_tx" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
    b_us=$(awk -v t="$b_ticks" -v n="$b_tx" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
    ta+=("$a_tps") td+=("$d_tps") tb+=("$b_tps") ca+=("$a_us") cb+=("$b_us")
    rd+=("$(awk -v a="$a_tps" -v b="$d_tps" 'BEGIN{printf "%.3f", a/b}')")
    rb+=("$(awk -v a="$a_tps" -v b="$b_tps" 'BEGIN{printf "%.3f", a/b}')")
    rc+=("$(awk -v a="$a_us" -v b="$b_us" 'BEGIN{printf "%.3f", a/b}')")
    z=""
    if [ -n "${BASELINE_REF:-}" ]; then
      read -r z_tps z_tx z_ticks < <(run baseline "$mode")
      z_us=$(awk -v t="$z_ticks" -v n="$z_tx" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
      tz+=("$z_tps") cz+=("$z_us")
      z=", baseline $z_tps tps ${z_us}us/tx"
    fi
    echo "  $mode round $r: airlock $a_tps tps ${a_us}us/tx, direct $d_tps tps, pgbouncer $b_tps tps ${b_us}us/tx$z (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
  printf '%-16s %10.0f %10.0f %10.0f %9.3f %9.3f %10.1f %10.1f %9.2f' "$mode" \
    "$(median "${ta[@]}")" "$(median "${td[@]}")" "$(median "${tb[@]}")" \
    "$(median "${rd[@]}")" "$(median "${rb[@]}")" "$(median "${ca[@]}")" "$(median "${cb[@]}")" "$(median "${rc[@]}")"
  [ -z "${BASELINE_REF:-}" ] || printf ' %10.0f %10.1f' "$(median "${tz[@]}")" "$(median "${cz[@]}")"
  echo
done
echo
echo "medians over rounds; a/direct and a/bouncer: airlock's TPS over the other's in the same round;"
echo "a-cpu-us, b-cpu-us: CPU microseconds of the airlock / pgbouncer process per transaction; cpu-a/b: their ratio per round"
[ -z "${BASELINE_REF:-}" ] || echo "base-tps, base-cpu-us: airlock built from $BASELINE_REF, run after pgbouncer in each round"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

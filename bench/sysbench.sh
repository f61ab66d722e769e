#!/usr/bin/env bash
# sysbench oltp_read_only against MariaDB through airlock (listen.mysql,
# user "reader": a read session) vs direct (root), interleaved, reporting
# median TPS, their ratio, and the CPU time the airlock process spends per
# transaction and per query (each oltp_read_only transaction is BEGIN, 10
# point SELECTs, 4 range SELECTs and COMMIT: 16 statements, sent as
# prepared statements).
#
#   bench/sysbench.sh
#
# Environment: ROUNDS (default 5), DURATION seconds per run (10), THREADS
# (8), SB_TABLES (4), SB_ROWS (100000), SB_PS_MODE (auto: prepared
# statements; disable: text protocol). RELAY=1 adds a bare Go relay
# (bench/relayfloor, two io.Copy goroutines per connection, no parsing,
# decision or audit) as a target in the same interleaving, with its CPU
# per query and airlock's excess over it (SPEC §11: airlock ≤ the relay +
# 15 µs per statement). BASELINE_REF=REF (a git ref, e.g. HEAD) also
# builds airlock at that commit and runs it as a target in the same
# interleaving (as bench/pgbench.sh does), for before/after comparisons of
# a change.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
THREADS=${THREADS:-8}
SB_PS_MODE=${SB_PS_MODE:-auto}
RELAY_PORT=${RELAY_PORT:-26996}
export BENCH_MYSQL=1

bench_init
bench_mydb
bench_db
# The baseline first, on the next ports with its own store.
[ -z "${BASELINE_REF:-}" ] || baseline_start "$BASELINE_REF"
airlock_build
airlock_config
airlock_start
if [ -n "${RELAY:-}" ]; then
  relay_start goroutine "$RELAY_PORT" $MY_HOST:$MY_PORT
  sleep 1
fi

# run TARGET: prints "tps transactions queries proxy_ticks" (the relay's
# CPU for the relay, airlock's otherwise).
run() {
  local args=(oltp_read_only --db-driver=mysql --tables="${SB_TABLES:-4}" --table-size="${SB_ROWS:-100000}"
    --threads="$THREADS" --time="$DURATION" --db-ps-mode="$SB_PS_MODE" --mysql-host=127.0.0.1 --mysql-ssl=off)
  local pid=$AIRLOCK_PID
  case $1 in
    relay) pid=$RELAY_PID args+=(--mysql-port="$RELAY_PORT" --mysql-user=root --mysql-db=$MY_DB) ;;
    airlock) args+=(--mysql-port="$AIRLOCK_MY_PORT" --mysql-user=reader --mysql-password="$READER_TOKEN" --mysql-db=sbtest) ;;
    baseline)
      pid=$BASE_PID
      args+=(--mysql-port="$((AIRLOCK_MY_PORT + 1))" --mysql-user=reader --mysql-password="$BASE_READER" --mysql-db=sbtest)
      ;;
    direct) args+=(--mysql-port="$MY_PORT" --mysql-user=root --mysql-db=$MY_DB) ;;
  esac
  local before after out
  before=$(proc_cpu "$pid")
  out=$(sysbench "${args[@]}" run 2>&1) || { echo "$out" >&2; return 1; }
  sleep 0.3
  after=$(proc_cpu "$pid")
  local tx q tps
  tx=$(sed -n 's/^ *transactions: *\([0-9]*\) .*/\1/p' <<<"$out")
  tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' <<<"$out")
  q=$(sed -n 's/^ *queries: *\([0-9]*\) .*/\1/p' <<<"$out")
  if [ -z "$tx" ] || grep -q 'FATAL' <<<"$out"; then
    echo "$out" >&2
    return 1
  fi
  echo "$tps $tx $q $((after - before))"
}

machine_note
echo "sysbench oltp_read_only: $THREADS threads, ${DURATION}s per run, $ROUNDS interleaved rounds, ps-mode $SB_PS_MODE${BASELINE_REF:+, baseline $BASELINE_REF ($(git -C "$BENCH_ROOT" rev-parse --short "$BASELINE_REF"))}"
declare -a ta=() td=() r=() cq=() ct=() tr=() rq=() ex=() tb=() cb=()
for i in $(seq "$ROUNDS"); do
  read -r a_tps a_tx a_q a_ticks < <(run airlock)
  z=""
  if [ -n "${BASELINE_REF:-}" ]; then
    read -r b_tps _ b_q b_ticks < <(run baseline)
    tb+=("$b_tps")
    cb+=("$(awk -v t="$b_ticks" -v n="$b_q" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')")
    z=", baseline $b_tps tps (${cb[-1]}us/query)"
  fi
  read -r d_tps _ _ _ < <(run direct)
  ta+=("$a_tps") td+=("$d_tps")
  r+=("$(awk -v a="$a_tps" -v b="$d_tps" 'BEGIN{printf "%.3f", a/b}')")
  ct+=("$(awk -v t="$a_ticks" -v n="$a_tx" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')")
  cq+=("$(awk -v t="$a_ticks" -v n="$a_q" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')")
  if [ -n "${RELAY:-}" ]; then
    read -r r_tps _ r_q r_ticks < <(run relay)
    tr+=("$r_tps")
    rq+=("$(awk -v t="$r_ticks" -v n="$r_q" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')")
    ex+=("$(awk -v a="${cq[-1]}" -v b="${rq[-1]}" 'BEGIN{printf "%.1f", a-b}')")
    z="$z, relay $r_tps tps (${rq[-1]}us/query)"
  fi
  echo "  round $i: airlock $a_tps tps (${ct[-1]}us/tx, ${cq[-1]}us/query), direct $d_tps tps$z (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
printf '\n%12s %12s %9s %12s %14s' airlock-tps direct-tps a/direct a-cpu-us/tx a-cpu-us/query
[ -z "${RELAY:-}" ] || printf ' %12s %14s %14s' relay-tps r-cpu-us/query a-minus-relay
[ -z "${BASELINE_REF:-}" ] || printf ' %10s %14s' base-tps base-us/query
echo
printf '%12.0f %12.0f %9.3f %12.1f %14.1f' "$(median "${ta[@]}")" "$(median "${td[@]}")" "$(median "${r[@]}")" "$(median "${ct[@]}")" "$(median "${cq[@]}")"
[ -z "${RELAY:-}" ] || printf ' %12.0f %14.1f %14.1f' "$(median "${tr[@]}")" "$(median "${rq[@]}")" "$(median "${ex[@]}")"
[ -z "${BASELINE_REF:-}" ] || printf ' %10.0f %14.1f' "$(median "${tb[@]}")" "$(median "${cb[@]}")"
echo
echo "medians over rounds; a/direct: airlock's TPS over direct's in the same round"
[ -z "${RELAY:-}" ] || echo "r-cpu-us/query: the bare relay's CPU per query; a-minus-relay: airlock's over the relay's in the same round"
[ -z "${BASELINE_REF:-}" ] || echo "base-tps, base-us/query: airlock built from $BASELINE_REF, run after airlock in each round"

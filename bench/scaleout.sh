#!/usr/bin/env bash
# Scale-out on a shared PostgreSQL store (SPEC §10, §11):
#
#   bench/scaleout.sh audit      audit events/s into the PostgreSQL store,
#                                none lost (the Go pipeline benchmark)
#   bench/scaleout.sh pgbench    pgbench through one gateway vs two gateways
#                                sharing the store (interleaved rounds)
#   bench/scaleout.sh soak       SESSIONS (default 1000) sessions spread over
#                                three gateways for SOAK seconds (default
#                                600), a paced read load, then checks that
#                                every gateway is alive, no transaction
#                                failed and the audit chain verifies
#
# Every gateway is an `airlock serve` process built from this tree, with
# its own ports, and all share one store database (airlock_bench_store,
# dropped and created again for each run). Environment as bench/pgbench.sh
# (ROUNDS, DURATION, CLIENTS, THREADS, BENCH_SCALE, BENCH_KEEP); EVENTS
# (audit: events per sub-benchmark, default 200000) and AUDIT_BENCH (audit:
# the -bench pattern, default Pipeline: all three); MODE
# (pgbench: select-simple or tpcb, default select-simple); SOAK_RATE
# (soak: transactions per second over all sessions, default 2000).
#
# The soak is not a test: it is a long run to read the numbers of (gateway
# CPU and memory, audit events, failed transactions) and is documented in
# docs/benchmarks.md. Each airlock session holds an upstream connection,
# and PostgreSQL takes max_connections (100) of them, so in the soak the
# gateways' upstream is a pgbouncer in transaction mode, as in bench/idle.sh.
source "$(dirname "$0")/lib.sh"

STORE_DB=airlock_bench_store
STORE_URL="postgres://postgres@$PG_HOST:$PG_PORT/$STORE_DB?sslmode=disable"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
MODE=${MODE:-select-simple}
what=${1:-pgbench}

# store_fresh drops and creates the shared store database.
store_fresh() {
  PGOPTIONS="-c client_min_messages=warning" psql_admin -d postgres -c "DROP DATABASE IF EXISTS $STORE_DB WITH (FORCE)" -c "CREATE DATABASE $STORE_DB" >/dev/null
}

# gateways N [UPSTREAM]: starts N gateways on the shared store; gateway i
# listens on AIRLOCK_PG_PORT+i and AIRLOCK_HTTP_PORT+i. Sets GW_PIDS,
# GW_PORTS, READER_TOKEN and WRITER_TOKEN.
gateways() {
  local n=$1 upstream=${2:-} base_pg=$AIRLOCK_PG_PORT base_http=$AIRLOCK_HTTP_PORT i
  GW_PIDS=() GW_PORTS=()
  for i in $(seq 0 $((n - 1))); do
    AIRLOCK_DIR=$BENCH_WORK/gw$i AIRLOCK_PG_PORT=$((base_pg + i)) AIRLOCK_HTTP_PORT=$((base_http + i))
    mkdir -p "$AIRLOCK_DIR"
    cp "$BENCH_WORK/airlock" "$AIRLOCK_DIR/airlock"
    airlock_config $upstream
    sed -i "s#^store: .*#store: \"$STORE_URL\"#" "$AIRLOCK_DIR/airlock.yaml"
    airlock_start
    GW_PIDS+=("$AIRLOCK_PID") GW_PORTS+=("$AIRLOCK_PG_PORT")
  done
  AIRLOCK_DIR=$BENCH_WORK AIRLOCK_PG_PORT=$base_pg AIRLOCK_HTTP_PORT=$base_http
}

# cpu_sum prints the summed CPU ticks of the gateways.
cpu_sum() {
  local t=0 p
  for p in "${GW_PIDS[@]}"; do t=$((t + $(proc_cpu "$p"))); done
  echo "$t"
}

# pgbench_on PORTS...: one pgbench per port, CLIENTS split between them,
# run at once; prints "tps transactions".
pgbench_on() {
  local n=$# per=$((CLIENTS / $#)) port args user token outs=() pids=() i=0
  case $MODE in
    tpcb) user=writer token=$WRITER_TOKEN args=(-M simple) ;;
    *) user=reader token=$READER_TOKEN args=(-S -M simple) ;;
  esac
  for port in "$@"; do
    outs+=("$BENCH_WORK/pgbench.$i.out")
    PGSSLMODE=disable PGPASSWORD=$token pgbench -n -T "$DURATION" -c "$per" -j "$(( THREADS > per ? per : THREADS ))" \
      -h 127.0.0.1 -p "$port" -U "$user" -d bench "${args[@]}" >"${outs[$i]}" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "${outs[@]}" >&2; return 1; }; done
  local tps=0 tx=0 o
  for o in "${outs[@]}"; do
    if grep -q 'number of failed transactions: [1-9]' "$o"; then cat "$o" >&2; return 1; fi
    tps=$(awk -v a="$tps" -v b="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$o")" 'BEGIN{print a+b}')
    tx=$((tx + $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$o")))
  done
  echo "$tps $tx"
}

case $what in
audit)
  machine_note
  (cd "$BENCH_ROOT" && go test -count=1 -run '^$' -bench "${AUDIT_BENCH:-Pipeline}" -benchtime "${EVENTS:-200000}x" ./internal/store/postgres)
  ;;
pgbench)
  bench_init
  bench_db
  store_fresh
  airlock_build
  gateways 2
  machine_note
  echo "pgbench $MODE: $CLIENTS clients over all gateways, ${DURATION}s per run, $ROUNDS interleaved rounds"
  declare -a t1=() t2=() c1=() c2=()
  for r in $(seq "$ROUNDS"); do
    before=$(cpu_sum)
    read -r tps tx < <(pgbench_on "${GW_PORTS[0]}")
    sleep 0.3
    us=$(awk -v t="$(( $(cpu_sum) - before ))" -v n="$tx" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
    t1+=("$tps") c1+=("$us")
    before=$(cpu_sum)
    read -r tps2 tx2 < <(pgbench_on "${GW_PORTS[@]}")
    sleep 0.3
    us2=$(awk -v t="$(( $(cpu_sum) - before ))" -v n="$tx2" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz/n*1e6}')
    t2+=("$tps2") c2+=("$us2")
    echo "  round $r: one gateway $tps tps ${us}us/tx, two gateways $tps2 tps ${us2}us/tx (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
  printf '%-14s %10s %12s\n' target tps cpu-us/tx
  printf '%-14s %10.0f %12.1f\n' "one gateway" "$(median "${t1[@]}")" "$(median "${c1[@]}")"
  printf '%-14s %10.0f %12.1f\n' "two gateways" "$(median "${t2[@]}")" "$(median "${c2[@]}")"
  echo "cpu-us/tx: CPU of all gateway processes per transaction; medians over rounds"
  "$BENCH_WORK/airlock" audit verify --config "$BENCH_WORK/gw0/airlock.yaml"
  ;;
soak)
  SESSIONS=${SESSIONS:-1000}
  SOAK=${SOAK:-600}
  SOAK_RATE=${SOAK_RATE:-2000}
  bench_init
  bench_db
  store_fresh
  airlock_build
  PGBOUNCER_POOL_SIZE=20 pgbouncer_start transaction
  gateways 3 "127.0.0.1:$PGBOUNCER_PORT"
  machine_note
  per=$((SESSIONS / 3))
  echo "soak: $SESSIONS sessions over 3 gateways, ${SOAK}s, $SOAK_RATE tx/s in all"
  pids=() i=0
  for port in "${GW_PORTS[@]}"; do
    PGSSLMODE=disable PGPASSWORD=$READER_TOKEN pgbench -n -T "$SOAK" -c "$per" -j 2 -R $((SOAK_RATE / 3)) -P 60 \
      -h 127.0.0.1 -p "$port" -U reader -d bench -S -M simple >"$BENCH_WORK/soak.$i.out" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  for i in 0 1 2; do
    echo "gateway $i: $(grep -E '^(number of transactions actually processed|number of failed transactions|latency average|tps)' "$BENCH_WORK/soak.$i.out" | tr '\n' ';')"
    echo "  process: cpu $(awk -v t="$(proc_cpu "${GW_PIDS[$i]}")" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", t/hz}')s, rss $(awk '/VmRSS/{print $2, $3}' "/proc/${GW_PIDS[$i]}/status")"
    kill -0 "${GW_PIDS[$i]}" || { echo "gateway $i died"; failed=1; }
  done
  psql_admin -d $STORE_DB -Atc "SELECT 'audit events: ' || COALESCE(sum(events), 0) FROM event_batches"
  "$BENCH_WORK/airlock" audit verify --config "$BENCH_WORK/gw0/airlock.yaml" || failed=1
  [ "$failed" = 0 ] || { echo "soak: FAILED (see above)"; exit 1; }
  echo "soak: ok"
  ;;
*)
  echo "usage: bench/scaleout.sh audit|pgbench|soak" >&2
  exit 2
  ;;
esac

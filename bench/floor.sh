#!/usr/bin/env bash
# What relaying alone costs: pgbench -S (simple protocol, 8 clients) through
# two bare Go relays without parsing, decision or audit (bench/relayfloor:
# one epoll loop on raw sockets, and two io.Copy goroutines per
# connection) and through pgbouncer (session mode), interleaved, reporting
# the CPU time each proxy process spends per transaction. It tells how much
# of airlock's CPU per transaction (bench/pgbench.sh) is the relay a Go
# process cannot avoid.
#
#   bench/floor.sh
#
# Environment: ROUNDS (default 3), DURATION seconds per run (8), CLIENTS (8),
# THREADS (2), BENCH_SCALE (10).
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
EPOLL_PORT=${EPOLL_PORT:-26999}
COPY_PORT=${COPY_PORT:-26998}

bench_init
bench_db
(cd "$BENCH_ROOT" && go build -o "$BENCH_WORK/relayfloor" ./bench/relayfloor)
pgbouncer_start session
"$BENCH_WORK/relayfloor" -mode epoll -listen 127.0.0.1:$EPOLL_PORT -upstream $PG_HOST:$PG_PORT &
EPOLL_PID=$!
bench_pids+=("$EPOLL_PID")
"$BENCH_WORK/relayfloor" -mode goroutine -listen 127.0.0.1:$COPY_PORT -upstream $PG_HOST:$PG_PORT &
COPY_PID=$!
bench_pids+=("$COPY_PID")
for _ in $(seq 50); do
  pg_isready -q -h 127.0.0.1 -p $EPOLL_PORT && pg_isready -q -h 127.0.0.1 -p $COPY_PORT && break
  sleep 0.1
done

# run PORT PID: prints "tps us_per_tx".
run() {
  local before after out tx tps
  before=$(proc_cpu "$2")
  out=$(PGSSLMODE=disable pgbench -n -S -M simple -T "$DURATION" -c "$CLIENTS" -j "$THREADS" -h 127.0.0.1 -p "$1" -U postgres $BENCH_DB 2>&1) ||
    { echo "$out" >&2; return 1; }
  sleep 0.3
  after=$(proc_cpu "$2")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
  awk -v t=$((after - before)) -v n="$tx" -v hz="$CLK_TCK" -v tps="$tps" 'BEGIN{printf "%.0f %.1f\n", tps, t/hz/n*1e6}'
}

machine_note
printf '\n%-6s %14s %14s %14s\n' round "epoll-us/tx" "iocopy-us/tx" "bouncer-us/tx"
declare -a e=() g=() b=()
for r in $(seq "$ROUNDS"); do
  read -r _ e_us < <(run $EPOLL_PORT "$EPOLL_PID")
  read -r _ g_us < <(run $COPY_PORT "$COPY_PID")
  read -r _ b_us < <(run "$PGBOUNCER_PORT" "$PGBOUNCER_PID")
  e+=("$e_us") g+=("$g_us") b+=("$b_us")
  printf '%-6s %14s %14s %14s\n' "$r" "$e_us" "$g_us" "$b_us"
done
printf '%-6s %14s %14s %14s\n' median "$(median "${e[@]}")" "$(median "${g[@]}")" "$(median "${b[@]}")"
echo "CPU microseconds of each proxy process per pgbench -S transaction (no parsing, decision or audit in the relays)"

#!/usr/bin/env bash
# What relaying alone costs: pgbench -S (simple protocol, 8 clients) through
# three bare Go relays without parsing, decision or audit (bench/relayfloor:
# one epoll loop on raw sockets, two io.Copy goroutines per connection, and
# one goroutine per connection relaying message by message until
# ReadyForQuery, as airlock does) and through pgbouncer (session mode),
# interleaved, reporting
# the CPU time each proxy process spends per transaction. It tells how much
# of airlock's CPU per transaction (bench/pgbench.sh) is the relay a Go
# process cannot avoid.
#
#   bench/floor.sh          PostgreSQL: pgbench -S, against pgbouncer
#   bench/floor.sh mysql    MariaDB: sysbench oltp_read_only (as
#                           bench/sysbench.sh runs it) through the relays
#                           and directly, CPU per statement and TPS
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
SYNC_PORT=${SYNC_PORT:-26997}

target=${1:-postgres}
bench_init
if [ "$target" = mysql ]; then
  bench_mydb
  upstream=$MY_HOST:$MY_PORT
else
  bench_db
  pgbouncer_start session
  upstream=$PG_HOST:$PG_PORT
fi
(cd "$BENCH_ROOT" && go build -o "$BENCH_WORK/relayfloor" ./bench/relayfloor)
"$BENCH_WORK/relayfloor" -mode epoll -listen 127.0.0.1:$EPOLL_PORT -upstream $upstream &
EPOLL_PID=$!
bench_pids+=("$EPOLL_PID")
"$BENCH_WORK/relayfloor" -mode goroutine -listen 127.0.0.1:$COPY_PORT -upstream $upstream &
COPY_PID=$!
bench_pids+=("$COPY_PID")
if [ "$target" != mysql ]; then
  "$BENCH_WORK/relayfloor" -mode sync -listen 127.0.0.1:$SYNC_PORT -upstream $upstream &
  SYNC_PID=$!
  bench_pids+=("$SYNC_PID")
fi
sleep 1

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

# sysrun PORT PID: sysbench through a relay (PID) or directly (no PID);
# prints "tps us_per_statement".
sysrun() {
  local before=0 after=0 out q tps
  [ -z "${2:-}" ] || before=$(proc_cpu "$2")
  out=$(sysbench oltp_read_only --db-driver=mysql --tables="${SB_TABLES:-4}" --table-size="${SB_ROWS:-100000}" \
    --threads="$CLIENTS" --time="$DURATION" --mysql-host=127.0.0.1 --mysql-ssl=off --mysql-port="$1" \
    --mysql-user=root --mysql-db=$MY_DB run 2>&1) || { echo "$out" >&2; return 1; }
  sleep 0.3
  [ -z "${2:-}" ] || after=$(proc_cpu "$2")
  q=$(sed -n 's/^ *queries: *\([0-9]*\) .*/\1/p' <<<"$out")
  tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' <<<"$out")
  awk -v t=$((after - before)) -v n="$q" -v hz="$CLK_TCK" -v tps="$tps" 'BEGIN{printf "%.0f %.1f\n", tps, t/hz/n*1e6}'
}

machine_note
if [ "$target" = mysql ]; then
  printf '\n%-6s %12s %14s %12s %14s %12s\n' round "epoll-tps" "epoll-us/stmt" "iocopy-tps" "iocopy-us/stmt" "direct-tps"
  declare -a et=() eu=() gt=() gu=() dt=()
  for r in $(seq "$ROUNDS"); do
    read -r e_tps e_us < <(sysrun $EPOLL_PORT "$EPOLL_PID")
    read -r g_tps g_us < <(sysrun $COPY_PORT "$COPY_PID")
    read -r d_tps _ < <(sysrun $MY_PORT)
    et+=("$e_tps") eu+=("$e_us") gt+=("$g_tps") gu+=("$g_us") dt+=("$d_tps")
    printf '%-6s %12s %14s %12s %14s %12s\n' "$r" "$e_tps" "$e_us" "$g_tps" "$g_us" "$d_tps"
  done
  printf '%-6s %12s %14s %12s %14s %12s\n' median "$(median "${et[@]}")" "$(median "${eu[@]}")" "$(median "${gt[@]}")" "$(median "${gu[@]}")" "$(median "${dt[@]}")"
  echo "sysbench oltp_read_only TPS through each bare relay and directly, and the relay's CPU microseconds per statement"
  exit 0
fi
printf '\n%-6s %14s %14s %14s %14s\n' round "epoll-us/tx" "iocopy-us/tx" "sync-us/tx" "bouncer-us/tx"
declare -a e=() g=() y=() b=()
for r in $(seq "$ROUNDS"); do
  read -r _ e_us < <(run $EPOLL_PORT "$EPOLL_PID")
  read -r _ g_us < <(run $COPY_PORT "$COPY_PID")
  read -r _ y_us < <(run $SYNC_PORT "$SYNC_PID")
  read -r _ b_us < <(run "$PGBOUNCER_PORT" "$PGBOUNCER_PID")
  e+=("$e_us") g+=("$g_us") y+=("$y_us") b+=("$b_us")
  printf '%-6s %14s %14s %14s %14s\n' "$r" "$e_us" "$g_us" "$y_us" "$b_us"
done
printf '%-6s %14s %14s %14s %14s\n' median "$(median "${e[@]}")" "$(median "${g[@]}")" "$(median "${y[@]}")" "$(median "${b[@]}")"
echo "CPU microseconds of each proxy process per pgbench -S transaction (no parsing, decision or audit in the relays)"

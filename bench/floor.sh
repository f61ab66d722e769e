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
#   bench/floor.sh airlock  PostgreSQL: pgbench -S through airlock (a read
#                           session), the one-goroutine relay and pgbouncer,
#                           interleaved, with each one's user and system CPU
#                           per transaction and airlock's excess over the
#                           relay: what airlock adds to relaying
#   bench/floor.sh tpcb     PostgreSQL: pgbench's TPC-B-like script through
#                           airlock (an approved write session, blast radius
#                           and undo off: every write's event durable before
#                           the write is forwarded), the one-goroutine relay,
#                           pgbouncer and directly, interleaved: each proxy's
#                           CPU per transaction and everyone's TPS, i.e. how
#                           much of the SPEC's write-path budget (2x
#                           pgbouncer) relaying alone already spends
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
if [ "$target" = airlock ] || [ "$target" = tpcb ]; then
  airlock_build
  airlock_config
  airlock_start
fi
relay_start epoll $EPOLL_PORT $upstream
EPOLL_PID=$RELAY_PID
relay_start goroutine $COPY_PORT $upstream
COPY_PID=$RELAY_PID
if [ "$target" != mysql ]; then
  relay_start sync $SYNC_PORT $upstream
  SYNC_PID=$RELAY_PID
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

# cpu_split PID: prints the process's "utime stime" in clock ticks.
cpu_split() { awk '{sub(/.*\) /, ""); print $12, $13}' "/proc/$1/stat"; }

# runsplit PORT PID USER DB [ENV...]: pgbench -S (the TPC-B-like script
# with SCRIPT=tpcb) through a proxy, or directly without PID; prints
# "user_us sys_us tps" per transaction.
runsplit() {
  local port=$1 pid=$2 user=$3 db=$4 b=(0 0) a=(0 0) out tx tps sel=-S
  shift 4
  [ "${SCRIPT:-}" != tpcb ] || sel=
  [ -z "$pid" ] || b=($(cpu_split "$pid"))
  out=$(env PGSSLMODE=disable "$@" pgbench -n $sel -M simple -T "$DURATION" -c "$CLIENTS" -j "$THREADS" -h 127.0.0.1 -p "$port" -U "$user" "$db" 2>&1) ||
    { echo "$out" >&2; return 1; }
  sleep 0.3
  [ -z "$pid" ] || a=($(cpu_split "$pid"))
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
  awk -v u=$((a[0] - b[0])) -v s=$((a[1] - b[1])) -v n="$tx" -v hz="$CLK_TCK" -v tps="$tps" 'BEGIN{printf "%.1f %.1f %.0f\n", u/hz/n*1e6, s/hz/n*1e6, tps}'
}

machine_note
if [ "$target" = tpcb ]; then
  export SCRIPT=tpcb
  printf '\n%-6s %10s %10s %10s %10s %10s %10s %10s %8s %8s\n' round "a-us/tx" "relay-us" "b-us/tx" "a/b" "relay/b" "a-tps" "relay-tps" "b-tps" "direct"
  declare -a aa=() rr=() bb=() ab=() rb=() at=() rt=() bt=() dt=()
  for r in $(seq "$ROUNDS"); do
    read -r a_u a_s a_t < <(runsplit "$AIRLOCK_PG_PORT" "$AIRLOCK_PID" writer bench PGPASSWORD="$WRITER_TOKEN")
    read -r r_u r_s r_t < <(runsplit $SYNC_PORT "$SYNC_PID" postgres $BENCH_DB)
    read -r b_u b_s b_t < <(runsplit "$PGBOUNCER_PORT" "$PGBOUNCER_PID" postgres $BENCH_DB)
    read -r _ _ d_t < <(runsplit "$PG_PORT" "" postgres $BENCH_DB)
    a=$(awk -v u="$a_u" -v s="$a_s" 'BEGIN{printf "%.1f", u+s}')
    y=$(awk -v u="$r_u" -v s="$r_s" 'BEGIN{printf "%.1f", u+s}')
    b=$(awk -v u="$b_u" -v s="$b_s" 'BEGIN{printf "%.1f", u+s}')
    x=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}')
    z=$(awk -v a="$y" -v b="$b" 'BEGIN{printf "%.2f", a/b}')
    aa+=("$a") rr+=("$y") bb+=("$b") ab+=("$x") rb+=("$z") at+=("$a_t") rt+=("$r_t") bt+=("$b_t") dt+=("$d_t")
    printf '%-6s %10s %10s %10s %10s %10s %10s %10s %8s %8s\n' "$r" "$a" "$y" "$b" "$x" "$z" "$a_t" "$r_t" "$b_t" "$d_t"
  done
  printf '%-6s %10s %10s %10s %10s %10s %10s %10s %8s %8s\n' median "$(median "${aa[@]}")" "$(median "${rr[@]}")" "$(median "${bb[@]}")" \
    "$(median "${ab[@]}")" "$(median "${rb[@]}")" "$(median "${at[@]}")" "$(median "${rt[@]}")" "$(median "${bt[@]}")" "$(median "${dt[@]}")"
  echo "CPU microseconds per TPC-B-like transaction (8 clients, simple protocol) of airlock (a: a write session, blast radius and undo off),"
  echo "the one-goroutine bare relay and pgbouncer (b), their ratios to pgbouncer in the same round, and each one's TPS beside direct's"
  exit 0
fi
if [ "$target" = airlock ]; then
  printf '\n%-6s %9s %9s %9s %9s %9s %9s %12s\n' round "a-user" "a-sys" "relay-user" "relay-sys" "b-user" "b-sys" "a-minus-relay"
  declare -a au=() as=() ru=() rs=() bu=() bs=() ex=()
  for r in $(seq "$ROUNDS"); do
    read -r a_u a_s _ < <(runsplit "$AIRLOCK_PG_PORT" "$AIRLOCK_PID" reader bench PGPASSWORD="$READER_TOKEN")
    read -r r_u r_s _ < <(runsplit $SYNC_PORT "$SYNC_PID" postgres $BENCH_DB)
    read -r b_u b_s _ < <(runsplit "$PGBOUNCER_PORT" "$PGBOUNCER_PID" postgres $BENCH_DB)
    x=$(awk -v a="$a_u" -v b="$a_s" -v c="$r_u" -v d="$r_s" 'BEGIN{printf "%.1f", a+b-c-d}')
    au+=("$a_u") as+=("$a_s") ru+=("$r_u") rs+=("$r_s") bu+=("$b_u") bs+=("$b_s") ex+=("$x")
    printf '%-6s %9s %9s %9s %9s %9s %9s %12s\n' "$r" "$a_u" "$a_s" "$r_u" "$r_s" "$b_u" "$b_s" "$x"
  done
  printf '%-6s %9s %9s %9s %9s %9s %9s %12s\n' median "$(median "${au[@]}")" "$(median "${as[@]}")" "$(median "${ru[@]}")" \
    "$(median "${rs[@]}")" "$(median "${bu[@]}")" "$(median "${bs[@]}")" "$(median "${ex[@]}")"
  echo "user and system CPU microseconds per pgbench -S transaction of airlock (a), the one-goroutine bare relay and pgbouncer (b);"
  echo "a-minus-relay: airlock's total over the relay's in the same round (what parsing, deciding and auditing cost)"
  exit 0
fi
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

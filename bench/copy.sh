#!/usr/bin/env bash
# Large results through airlock vs direct, interleaved (airlock, direct,
# airlock, direct, ...), reporting the median wall-time ratio and airlock's
# CPU time per GB relayed:
#   - copy: COPY (SELECT ...) TO STDOUT of about 1 GB (ROWS rows of about
#     210 bytes), read by psql into wc -c;
#   - wide: a wide SELECT (40 columns of 100 bytes, WIDE_ROWS rows, about
#     200 MB), run by pgbench -f (libpq reads the whole result);
#   - copyin: COPY ... FROM STDIN (FORMAT binary) of the same ROWS rows
#     (about 1.07 GB, written to a file first) into a table
#     (airlock_copyin, emptied before each run), sent by psql.
# copy and wide run as user "reader" (a read session) through airlock,
# copyin as user "writer" (a write session: undo off, blast-radius off),
# and all as postgres directly.
#
#   bench/copy.sh            all three
#   bench/copy.sh copy       some of them
#
# Environment: ROUNDS (default 3), ROWS (5000000), WIDE_ROWS (50000).
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
ROWS=${ROWS:-5000000}
WIDE_ROWS=${WIDE_ROWS:-50000}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(copy wide copyin)

bench_init
bench_db
airlock_build
airlock_config
airlock_start

copy_sql="COPY (SELECT g, repeat('x', 200) FROM generate_series(1, $ROWS) g) TO STDOUT"
cols=""
for i in $(seq 40); do cols+=", repeat(chr(64 + $i % 26), 100) AS c$i"; done
echo "SELECT g$cols FROM generate_series(1, $WIDE_ROWS) g;" >"$BENCH_WORK/wide.sql"
if [[ " ${tests[*]} " == *" copyin "* ]]; then
  psql_admin -d $BENCH_DB -c "DROP TABLE IF EXISTS airlock_copyin" -c "CREATE TABLE airlock_copyin (g int, x text)" \
    -c "GRANT SELECT, INSERT ON airlock_copyin TO airlock_bench_rw" >/dev/null
  psql_admin -d $BENCH_DB -c "COPY (SELECT g, repeat('x', 200) FROM generate_series(1, $ROWS) g) TO STDOUT (FORMAT binary)" >"$BENCH_WORK/copyin.bin"
fi

now() { date +%s.%N; }
declare -A bytes_of=()

# run TARGET TEST: prints "seconds bytes airlock_ticks".
run() {
  local target=$1 test=$2 conn=() env=() t0 t1 bytes=0 before=0 after=0
  case $target in
    airlock) conn=(-h 127.0.0.1 -p "$AIRLOCK_PG_PORT" -U reader -d bench) env=(PGPASSWORD="$READER_TOKEN") ;;
    direct) conn=(-h 127.0.0.1 -p "$PG_PORT" -U postgres -d $BENCH_DB) ;;
  esac
  if [ "$test" = copyin ]; then
    [ "$target" = direct ] || { conn[5]=writer env=(PGPASSWORD="$WRITER_TOKEN"); }
    psql_admin -d $BENCH_DB -c "TRUNCATE airlock_copyin" -c CHECKPOINT >/dev/null
  fi
  before=$(proc_cpu "$AIRLOCK_PID")
  t0=$(now)
  case $test in
    copy) bytes=$(env PGSSLMODE=disable "${env[@]}" psql -X -q "${conn[@]}" -c "$copy_sql" | wc -c) ;;
    wide) env PGSSLMODE=disable "${env[@]}" pgbench -n -f "$BENCH_WORK/wide.sql" -t 2 -c 1 "${conn[@]}" >"$BENCH_WORK/wide.out" 2>&1 ||
            { cat "$BENCH_WORK/wide.out" >&2; return 1; } ;;
    copyin) env PGSSLMODE=disable "${env[@]}" psql -X -q -v ON_ERROR_STOP=1 "${conn[@]}" \
              -c "COPY airlock_copyin FROM STDIN (FORMAT binary)" <"$BENCH_WORK/copyin.bin" || return 1 ;;
  esac
  t1=$(now)
  if [ "$test" = copyin ]; then
    bytes=$(stat -c %s "$BENCH_WORK/copyin.bin")
    local rows
    rows=$(psql_admin -d $BENCH_DB -Atc "SELECT count(*) FROM airlock_copyin")
    [ "$rows" = "$ROWS" ] || { log "copyin: $rows rows stored, $ROWS sent"; return 1; }
  fi
  sleep 0.3
  after=$(proc_cpu "$AIRLOCK_PID")
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $bytes $((after - before))"
}

machine_note
printf '\n%-6s %12s %12s %8s %14s\n' test airlock-s direct-s ratio "airlock-cpu-s"
for test in "${tests[@]}"; do
  declare -a sa=() sd=() r=() cpu=()
  for i in $(seq "$ROUNDS"); do
    read -r a_s a_bytes a_ticks < <(run airlock "$test")
    read -r d_s d_bytes _ < <(run direct "$test")
    if [ "$test" != wide ] && { [ -z "$a_bytes" ] || [ "$a_bytes" != "${d_bytes:-}" ]; }; then
      log "$test: airlock relayed ${a_bytes:-no} bytes, direct ${d_bytes:-no}"
      exit 1
    fi
    sa+=("$a_s") sd+=("$d_s") cpu+=("$(awk -v t="$a_ticks" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t/hz}')")
    r+=("$(awk -v a="$a_s" -v b="$d_s" 'BEGIN{printf "%.3f", a/b}')")
    [ "$test" = wide ] || bytes_of[$test]=$a_bytes
    echo "  $test round $i: airlock ${a_s}s, direct ${d_s}s, airlock CPU ${cpu[-1]}s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
  printf '%-6s %12s %12s %8s %14s\n' "$test" "$(median "${sa[@]}")" "$(median "${sd[@]}")" "$(median "${r[@]}")" "$(median "${cpu[@]}")"
done
echo
echo "medians over $ROUNDS rounds; ratio: airlock's wall time over direct's in the same round"
for test in "${tests[@]}"; do
  case $test in
    wide) echo "wide: 2 runs of a $WIDE_ROWS-row, 40-column SELECT per round" ;;
    *) echo "$test: $ROWS rows, $(awk -v b="${bytes_of[$test]:-0}" 'BEGIN{printf "%.2f", b/1e9}') GB" ;;
  esac
done
echo "airlock-cpu-s: CPU seconds the airlock process spent on the airlock run"

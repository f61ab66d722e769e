#!/usr/bin/env bash
# One measurement per target of SPEC §11, each against its reference
# measured in the same run, summed up in one table: target | measured |
# reference | ratio or difference | SPEC goal | met / not met.
#
#   bench/all.sh                 run everything, print the table
#   bench/all.sh --write-docs    the same, then put the table (and the
#                                command that reproduces it) between the
#                                summary markers of docs/benchmarks.md
#
# Each measurement is one of the other scripts (or a Go benchmark) run on
# its own, with a time limit; a measurement that fails shows as "failed"
# in its rows and the others still run (the exit status is then 1). Its
# output is kept in bench/.work/all-last/NAME.log.
#
#   read      bench/floor.sh airlock: pgbench -S through airlock, the
#             one-goroutine relay and pgbouncer, interleaved
#   write     bench/pgbench.sh tpcb: airlock (blast radius and undo off),
#             direct and pgbouncer
#   guarded   BENCH_GUARDED=1 BENCH_PREPARED=1 bench/pgbench.sh tpcb: the
#             defaults (blast radius, best_effort undo) on a database
#             prepared for undo
#   sysbench  RELAY=1 bench/sysbench.sh: airlock, direct and a bare Go relay
#   classify  go test -bench in internal/sqlclass/pg and internal/sqlclass/mysql
#   idle      bench/idle.sh IDLE_N (and IDLE_MANY sessions, if set)
#   audit     go test -bench Pipeline/reads in internal/audit (SQLite) and
#             bench/scaleout.sh audit (the PostgreSQL store)
#   copy      bench/copy.sh copy copyin: COPY TO and binary COPY FROM vs direct
#
# Environment: ROUNDS (default 3) and DURATION seconds per run (5) for the
# interleaved measurements; COPY_ROWS (1000000: about 0.21 GB; 5000000 for
# the 1 GB of SPEC §11); IDLE_N (1000); IDLE_MANY (unset: e.g. 10000 also
# opens that many idle sessions and checks they work); AUDIT_EVENTS
# (300000 per store); BENCHTIME and BENCHCOUNT (go test -benchtime and
# -count of the classifier, 1s and 3: each benchmark's median of the 3 is
# taken, since a single short run on a loaded machine can be several times
# too slow); LIMIT (seconds one measurement may take, 300); ONLY (names of
# the measurements to run, e.g. "read copy"). The ports default to a range
# of their own (19xxx: below the ephemeral ports, away from the other
# scripts' 2xxxx) so that a run of another script does not answer instead.
set -uo pipefail

# The settings given (for the command line the summary shows).
given=""
for v in ROUNDS DURATION COPY_ROWS IDLE_N IDLE_MANY AUDIT_EVENTS BENCHTIME BENCHCOUNT ONLY; do
  [ -z "${!v:-}" ] || given+="$v=$(printf %q "${!v}") "
done

export AIRLOCK_PG_PORT=${AIRLOCK_PG_PORT:-19432} AIRLOCK_MY_PORT=${AIRLOCK_MY_PORT:-19306}
export AIRLOCK_HTTP_PORT=${AIRLOCK_HTTP_PORT:-19080} PGBOUNCER_PORT=${PGBOUNCER_PORT:-19433}
export EPOLL_PORT=${EPOLL_PORT:-19999} COPY_PORT=${COPY_PORT:-19998} SYNC_PORT=${SYNC_PORT:-19997}
export RELAY_PORT=${RELAY_PORT:-19996} PPROF_PORT=${PPROF_PORT:-19060}
export ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5}
COPY_ROWS=${COPY_ROWS:-1000000}
IDLE_N=${IDLE_N:-1000}
IDLE_MANY=${IDLE_MANY:-}
AUDIT_EVENTS=${AUDIT_EVENTS:-300000}
BENCHTIME=${BENCHTIME:-1s}
BENCHCOUNT=${BENCHCOUNT:-3}
LIMIT=${LIMIT:-300}
ONLY=${ONLY:-read write guarded sysbench classify idle audit copy}

source "$(dirname "$0")/lib.sh"
set +e

write_docs=""
case ${1:-} in
  --write-docs) write_docs=1 ;;
  "") ;;
  *) echo "usage: bench/all.sh [--write-docs]" >&2; exit 2 ;;
esac

OUT=$BENCH_ROOT/bench/.work/all-last
rm -rf "$OUT" && mkdir -p "$OUT"
cd "$BENCH_ROOT" || exit 1

child=""
stop_child() {
  [ -z "$child" ] || { kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; }
}
trap stop_child EXIT
trap 'exit 130' INT TERM

# measure NAME CMD...: runs CMD with a time limit, its output in
# $OUT/NAME.log; fails when CMD fails or runs out of time. Whatever CMD
# started is stopped by its own exit trap (bench_cleanup).
measure() {
  local name=$1 rc t0=$SECONDS
  shift
  log "$name: $* (log: $OUT/$name.log)"
  timeout -k 20 "$LIMIT" "$@" >"$OUT/$name.log" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=""
  log "$name: $((SECONDS - t0))s, exit status $rc"
  if [ $rc != 0 ]; then
    tail -5 "$OUT/$name.log" | sed 's/^/  | /' >&2
    return 1
  fi
}

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# calc EXPR prints awk's value of EXPR with FMT (default %.1f); holds
# EXPR true? is "holds EXPR".
calc() { awk "BEGIN{printf \"${2:-%.1f}\", $1}"; }
holds() { awk "BEGIN{exit !($1)}"; }

rows=()
# row TARGET MEASURED REFERENCE COMPARISON GOAL STATUS
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
# failed TARGET GOAL: the row of a measurement that failed.
failed() { rows+=("| $1 | failed | failed | — | $2 | failed |"); }
# verdict COND: "met" when COND holds, "not met" otherwise.
verdict() { if holds "$1"; then echo met; else echo "not met"; fi; }
# all_set VALUE...: every value is a number.
all_set() { local v; for v in "$@"; do [[ $v =~ ^-?[0-9.]+(e[-+]?[0-9]+)?$ ]] || return 1; done; }

started=$(date -u '+%Y-%m-%d %H:%M UTC')
note=$(machine_note)
echo "$note"

# Read path: airlock vs the one-goroutine relay and pgbouncer, CPU per
# pgbench -S transaction.
if wanted read; then
  t1="read path, \`pgbench -S\` simple, 8 clients: CPU/tx over the one-goroutine relay"
  t2="read path, the same: CPU/tx against pgbouncer"
  a_u="" r_u="" b_u=""
  if measure read bash bench/floor.sh airlock; then
    read -r _ a_u a_s r_u r_s b_u b_s ex < <(grep '^median' "$OUT/read.log")
  fi
  if all_set "$a_u" "$a_s" "$r_u" "$r_s" "$b_u" "$b_s" "$ex"; then
    a=$(calc "$a_u + $a_s") r=$(calc "$r_u + $r_s") b=$(calc "$b_u + $b_s")
    row "$t1" "$a µs" "relay $r µs" "+$ex µs" "≤ relay + 10 µs" "$(verdict "$ex <= 10")"
    x=$(calc "$a / $b" %.2f)
    aim="aim ≤ 1.5×: $(verdict "$x <= 1.5")"
    row "$t2" "$a µs" "pgbouncer $b µs" "$x×" "≤ 2× (aim ≤ 1.5×)" "$(verdict "$x <= 2") ($aim)"
  else
    failed "$t1" "≤ relay + 10 µs"
    failed "$t2" "≤ 2× (aim ≤ 1.5×)"
  fi
fi

# tpcb_rows NAME LABEL CPU_GOAL TPS_GOAL: the rows of a pgbench.sh tpcb log.
tpcb_rows() {
  local name=$1 label=$2 cg=$3 tg=$4 a_tps="" d_tps b_tps rd rb a_cpu b_cpu rc
  read -r _ a_tps d_tps b_tps rd rb a_cpu b_cpu rc < <(grep '^tpcb ' "$OUT/$name.log" 2>/dev/null)
  if all_set "$a_tps" "$d_tps" "$rd" "$a_cpu" "$b_cpu" "$rc"; then
    row "$label: CPU/tx against pgbouncer" "$a_cpu µs" "pgbouncer $b_cpu µs" "${rc}×" "≤ ${cg}×" "$(verdict "$rc <= $cg")"
    row "$label: TPS against direct" "$a_tps tps" "direct $d_tps tps" "$(calc "$rd * 100" %.0f)%" "≥ ${tg}%" "$(verdict "$rd * 100 >= $tg")"
  else
    failed "$label: CPU/tx against pgbouncer" "≤ ${cg}×"
    failed "$label: TPS against direct" "≥ ${tg}%"
  fi
}

# Write path: pgbench TPC-B-like in a write session, every write event
# durable before the write is forwarded.
if wanted write; then
  measure write bash bench/pgbench.sh tpcb
  tpcb_rows write "TPC-B-like writes, blast radius and undo off" 2 70
fi
if wanted guarded; then
  measure guarded env BENCH_GUARDED=1 BENCH_PREPARED=1 bash bench/pgbench.sh tpcb
  tpcb_rows guarded "TPC-B-like writes, defaults (blast radius, \`best_effort\` undo, prepared)" 3 50
fi

# MariaDB sysbench oltp_read_only: airlock vs a bare Go relay, CPU per
# statement.
if wanted sysbench; then
  t="MariaDB sysbench \`oltp_read_only\`, 8 threads: CPU per statement"
  a_q=""
  if measure sysbench env RELAY=1 bash bench/sysbench.sh; then
    read -r _ _ _ _ a_q _ r_q ex < <(grep -A1 'relay-tps' "$OUT/sysbench.log" | tail -1)
  fi
  if all_set "$a_q" "$r_q" "$ex"; then
    row "$t" "$a_q µs" "bare Go relay $r_q µs" "+$ex µs" "≤ relay + 15 µs" "$(verdict "$ex <= 15")"
  else
    failed "$t" "≤ relay + 15 µs"
  fi
fi

# maxns LOG PATTERN: of the benchmark lines matching PATTERN, the largest
# median ns/op of one benchmark over its -count runs, in µs, and which
# benchmark it was.
maxns() {
  local name vals
  grep -E "$2" "$1" 2>/dev/null |
    awk '$4 == "ns/op" {n = $1; sub(/^Benchmark/, "", n); sub(/-[0-9]+$/, "", n); v[n] = v[n] " " $3} END {for (n in v) print n v[n]}' |
    while read -r name vals; do echo "$(median $vals) $name"; done |
    sort -g | tail -1 | awk '{printf "%.2f %s\n", $1 / 1000, $2}'
}

# Classification: the largest of the typical statements, on a cache hit
# and on a miss (PostgreSQL); MySQL's classifier has no cache, so each of
# its statements is a miss.
if wanted classify; then
  hit="" miss="" my=""
  if measure classify-pg go test -run '^$' -bench 'ClassifyHit$|ClassifyMiss' -benchtime "$BENCHTIME" -count "$BENCHCOUNT" -benchmem ./internal/sqlclass/pg; then
    read -r hit hit_n < <(maxns "$OUT/classify-pg.log" '^BenchmarkClassifyHit/')
    read -r miss miss_n < <(maxns "$OUT/classify-pg.log" '^BenchmarkClassifyMiss/[^/[:space:]]*[[:space:]]')
  fi
  if measure classify-mysql go test -run '^$' -bench 'ClassifyMySQL' -benchtime "$BENCHTIME" -count "$BENCHCOUNT" -benchmem ./internal/sqlclass/mysql; then
    read -r my my_n < <(maxns "$OUT/classify-mysql.log" '^BenchmarkClassifyMySQL/')
  fi
  if all_set "$hit"; then
    row "classification (PostgreSQL), cache hit: slowest statement" "$hit µs ($hit_n)" "—" "—" "≤ 5 µs" "$(verdict "$hit <= 5")"
  else
    failed "classification (PostgreSQL), cache hit: slowest statement" "≤ 5 µs"
  fi
  if all_set "$miss"; then
    row "classification (PostgreSQL), cache miss: slowest statement" "$miss µs ($miss_n)" "—" "—" "≤ 50 µs" "$(verdict "$miss <= 50")"
  else
    failed "classification (PostgreSQL), cache miss: slowest statement" "≤ 50 µs"
  fi
  if all_set "$my"; then
    row "classification (MySQL, no cache: a miss): slowest statement" "$my µs ($my_n)" "—" "—" "≤ 50 µs" "$(verdict "$my <= 50")"
  else
    failed "classification (MySQL, no cache: a miss): slowest statement" "≤ 50 µs"
  fi
fi

# Idle sessions: the airlock process's resident memory per idle session.
if wanted idle; then
  t="$IDLE_N idle sessions: gateway memory (RSS) each"
  per=""
  if measure idle bash bench/idle.sh "$IDLE_N"; then
    per=$(awk '$1 == "VmRSS" {print $6}' "$OUT/idle.log")
  fi
  if all_set "$per"; then
    row "$t" "$per KiB" "—" "—" "≤ 64 KiB" "$(verdict "$per <= 64")"
  else
    failed "$t" "≤ 64 KiB"
  fi
  t="$IDLE_MANY idle sessions work"
  if [ -z "$IDLE_MANY" ]; then
    rows+=("| 10,000 idle sessions work | not run (IDLE_MANY=10000; airlock needs 2 descriptors a session: the limit here is $(ulimit -Hn)) | — | — | they work | not run |")
  elif measure idle-many bash bench/idle.sh "$IDLE_MANY" &&
    per=$(awk '$1 == "VmRSS" {print $6}' "$OUT/idle-many.log") && all_set "$per"; then
    row "$t" "all opened, $per KiB each" "—" "—" "they work" met
  else
    failed "$t" "they work"
  fi
fi

# audit_row NAME LABEL CMD...: runs the pipeline benchmark CMD and makes
# its row from the events/s of its "reads" sub-benchmark.
audit_row() {
  local name=$1 label=$2 eps=""
  shift 2
  if measure "$name" "$@"; then
    eps=$(awk '/^BenchmarkPipeline\/reads/ {for (i = 2; i < NF; i++) if ($(i + 1) == "events/s") print $i}' "$OUT/$name.log")
  fi
  if all_set "$eps"; then
    row "$label" "$(calc "$eps" %.0f) events/s" "—" "—" "≥ 50,000 events/s" "$(verdict "$eps >= 50000")"
  else
    failed "$label" "≥ 50,000 events/s"
  fi
}
# Audit: events/s sustained into each store, none lost (each benchmark
# fails unless the store holds every event appended).
if wanted audit; then
  audit_row audit-sqlite "audit into SQLite, $AUDIT_EVENTS events, none lost" \
    go test -count=1 -run '^$' -bench 'Pipeline/reads$' -benchtime "${AUDIT_EVENTS}x" ./internal/audit
  audit_row audit-postgres "audit into the PostgreSQL store, $AUDIT_EVENTS events, none lost" \
    env AUDIT_BENCH='Pipeline/reads$' EVENTS="$AUDIT_EVENTS" bash bench/scaleout.sh audit
fi

# COPY TO and binary COPY FROM through airlock vs direct, wall time.
if wanted copy; then
  measure copy env ROWS="$COPY_ROWS" bash bench/copy.sh copy copyin
  for test in copy copyin; do
    label="COPY TO STDOUT"
    [ $test = copy ] || label="binary COPY FROM STDIN"
    a_s="" d_s="" ratio="" gb=""
    read -r _ a_s d_s ratio _ < <(grep "^$test " "$OUT/copy.log" 2>/dev/null)
    gb=$(sed -n "s/^$test: .* rows, \([0-9.]*\) GB$/\1/p" "$OUT/copy.log" 2>/dev/null)
    if all_set "$a_s" "$d_s" "$ratio" "$gb"; then
      row "$label of $gb GB: wall time" "${a_s} s" "direct ${d_s} s" "${ratio}×" "≤ 1.3× direct (1 GB)" "$(verdict "$ratio <= 1.3")"
    else
      failed "$label: wall time" "≤ 1.3× direct (1 GB)"
    fi
  done
fi

after=$(cut -d' ' -f1-3 /proc/loadavg)
cmd="${given}bench/all.sh"

summary=$OUT/summary.md
{
  echo "| target (SPEC §11) | measured | reference (same run) | ratio or difference | SPEC goal | met |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "$note" | sed 's/^/    /'
  echo "    load average after: $after; run of $started, $((SECONDS / 60)) min $((SECONDS % 60)) s"
} >"$summary"
echo
cat "$summary"
echo
echo "medians of $ROUNDS interleaved rounds of ${DURATION}s where there are rounds; the logs: $OUT"

if [ -n "$write_docs" ]; then
  doc=$BENCH_ROOT/docs/benchmarks.md
  if ! grep -q '^<!-- summary:begin -->$' "$doc" || ! grep -q '^<!-- summary:end -->$' "$doc"; then
    log "docs/benchmarks.md has no <!-- summary:begin --> / <!-- summary:end --> lines"
    exit 1
  fi
  section=$OUT/section.md
  {
    echo "## Summary of every target"
    echo
    echo "One measurement per SPEC §11 target, each against its reference in the"
    echo "same run (see the header of \`bench/all.sh\` for what each row runs, and"
    echo "the sections below for longer runs of each), made by:"
    echo
    echo "    $cmd --write-docs"
    echo
    echo "The machine is shared: read the load average below before trusting a ratio."
    echo
    cat "$summary"
  } >"$section"
  awk -v f="$section" '
    /^<!-- summary:end -->$/ { while ((getline l < f) > 0) print l; skip = 0 }
    !skip { print }
    /^<!-- summary:begin -->$/ { skip = 1 }
  ' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
  log "wrote the summary into docs/benchmarks.md"
fi
# The exit status says whether every measurement ran (not whether every
# goal was met).
if printf '%s\n' "${rows[@]}" | grep -q '| failed |$'; then
  exit 1
fi

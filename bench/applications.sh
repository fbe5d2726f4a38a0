#!/usr/bin/env bash
# Applications submitted, accepted, taken into process and completed over HTTP (issue 14:
# ≥ 2,000 applications per second on SQLite, ≥ 1,000 on PostgreSQL, audited). Every step is
# its own API request (POST /api/v1/applications, then three POST …/transitions), each with
# its audit entries committed before it runs, as in production. Load from wrk on the same
# machine (bench/applications.lua): CONNECTIONS keep-alive connections, each answer queues
# the application's next step. PEOPLE citizens (from `dancu gen`) are imported once; the
# applications pile up in the same database across runs. Prints per run the applications
# completed per second, the requests per second, latencies, and the CPU time per completed
# application of the server, of PostgreSQL's processes, of wrk and of the whole machine, and the
# load average before each run (the machine is shared). On PostgreSQL the hot tables are
# vacuumed before each run.
#
#   bench/applications.sh [RUNS=3] [DURATION=15s] [CONNECTIONS=64] [PEOPLE=100000]
#   BACKENDS="sqlite sqlite-full postgres" (sqlite-full: the SQLite URL with ?synchronous=full)
#   PGDB: the PostgreSQL database (default dancu_bench_apps_$PEOPLE; one per $WORK)
# Data is kept in $WORK (default /tmp/dancu-apps); delete it after a schema change.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}; DURATION=${2:-15s}; CONNS=${3:-64}; PEOPLE=${4:-100000}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
# DANCU_BIN: a dancu binary already built (no build then).
[ -n "${DANCU_BIN:-}" ] || cargo build --release -q -p dancu
BIN=${DANCU_BIN:-$CARGO_TARGET_DIR/release/dancu}
WORK=${WORK:-/tmp/dancu-apps}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 7 --out "$CSV" >/dev/null
awk -F, 'NR>1 && NR<=20001 {print $1}' "$CSV" > "$WORK/ids.txt"
export IDS_FILE="$WORK/ids.txt"
PW="bench-password-123"
. bench/pg_production.sh
export DANCU_LOG=${DANCU_LOG:-warn}

proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# CPU ticks of every process named $1 (PostgreSQL's backends and helpers): a process that
# starts and ends within a run (an autovacuum worker) is missed; the server's connections
# are pooled and stay.
comm_ticks() {
  local t=0 f c
  for f in /proc/[0-9]*/stat; do
    c=$(cat "$f" 2>/dev/null) || continue
    case $c in *"($1)"*) t=$((t + $(echo "$c" | awk '{print $14+$15}'))) ;; esac
  done
  echo $t
}

run_backend() {
  local name=$1 url=$2 port=$3
  # Kept in $WORK, each database its own chain of signed audit checkpoints.
  export DANCU_AUDIT_KEY_FILE="$WORK/audit.key" DANCU_AUDIT_CHECKPOINT_FILE="$WORK/${name%-full}.audit.checkpoints"
  if [ ! -f "$WORK/$name.ready" ]; then
    "$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/rejects-$name.csv" >/dev/null
    DANCU_OFFICER_PASSWORD=$PW "$BIN" officer add --database-url "$url" --username bench \
      --display-name Bench --role officer --scope nation >/dev/null
    touch "$WORK/$name.ready"
  fi
  DANCU_LOG=warn "$BIN" serve --database-url "$url" --listen "127.0.0.1:$port" --token-secret-file "$WORK/secret" &
  local pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  # The import's events get their feed positions before anything is measured.
  case $url in
    sqlite:*) local file=${url#sqlite://}; wait_sequenced sqlite "${file%%\?*}" ;;
    *) wait_sequenced psql "$url" ;;
  esac
  TOKEN=$(curl -sf -X POST -H 'content-type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" \
    "http://127.0.0.1:$port/api/v1/auth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  export TOKEN
  RUN_TAG="warm$(date +%s%N)" wrk -t2 -c"$CONNS" -d3s -s bench/applications.lua "http://127.0.0.1:$port" >/dev/null
  local hz; hz=$(getconf CLK_TCK)
  for r in $(seq "$RUNS"); do
    local load s0 m0 p0 out s1 m1 p1 n
    # PostgreSQL's tables start each run vacuumed, as autovacuum keeps them in production:
    # here autovacuum is on only during runs, and whether its launcher reaches this database
    # within a run is luck (one A/B pair of builds differed by 350,000 dead rows).
    case $url in postgres*) psql "$url" -qc "VACUUM (ANALYZE) applications, application_events, outbox, application_month_counts" ;; esac
    load=$(cut -d' ' -f1 /proc/loadavg); s0=$(proc_ticks "$pid"); m0=$(machine_ticks); p0=$(comm_ticks postgres)
    RUN_TAG="r$r-$(date +%s%N)" wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/applications.lua \
      "http://127.0.0.1:$port" > "$WORK/wrk.out" &
    local wpid=$! w1=0
    # wrk's own ticks, read just before it exits (its last second is missed: < 1/15 of a run).
    while kill -0 $wpid 2>/dev/null; do w1=$(proc_ticks $wpid 2>/dev/null || echo "$w1"); sleep 1; done
    wait $wpid
    out=$(grep RESULT "$WORK/wrk.out")
    s1=$(proc_ticks "$pid"); m1=$(machine_ticks); p1=$(comm_ticks postgres)
    n=$(echo "$out" | sed 's/.*applications_completed=\([0-9]*\).*/\1/')
    echo "$name run $r (load $load): $out $(awk -v s=$((s1 - s0)) -v m=$((m1 - m0)) -v p=$((p1 - p0)) -v w="$w1" \
      -v n="$n" -v hz="$hz" 'BEGIN{printf "server_us_per_app=%.0f postgres_us_per_app=%.0f wrk_us_per_app=%.0f machine_us_per_app=%.0f", \
      s*1e6/hz/n, p*1e6/hz/n, w*1e6/hz/n, m*1e6/hz/n}')"
  done
  echo "$name serve peak RSS: $(grep VmHWM /proc/$pid/status)"
  kill -TERM $pid; wait $pid || true
}

BACKENDS=${BACKENDS:-sqlite postgres}
for b in $BACKENDS; do
  case $b in
    sqlite) run_backend sqlite "sqlite://$WORK/apps-$PEOPLE.db" 18101 ;;
    sqlite-full)
      # The same database file as `sqlite`, opened with synchronous=FULL.
      [ -f "$WORK/sqlite.ready" ] && touch "$WORK/sqlite-full.ready"
      run_backend sqlite-full "sqlite://$WORK/apps-$PEOPLE.db?synchronous=full" 18102 ;;
    postgres)
      PGDB=${PGDB:-dancu_bench_apps_$PEOPLE}
      pg_production_on "$PG_ADMIN"; trap pg_production_off EXIT
      # The database's audit chain is signed with $WORK's key: a database prepared from
      # another $WORK would be refused as tampered with, so it is made again.
      if [ ! -f "$WORK/postgres.ready" ]; then psql "$PG_ADMIN" -qc "drop database if exists $PGDB"; fi
      if ! psql "$PG_ADMIN" -tAc "select 1 from pg_database where datname='$PGDB'" | grep -q 1; then
        psql "$PG_ADMIN" -qc "create database $PGDB"
        rm -f "$WORK/postgres.ready" "$WORK/postgres.audit.checkpoints"
      fi
      run_backend postgres "${PG_ADMIN%/*}/$PGDB" 18103 ;;
  esac
done

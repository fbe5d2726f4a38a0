#!/usr/bin/env bash
# Officers' work queues over 1,000,000 applications (issue 14: ≤ 50 ms p95), on both
# backends. PEOPLE citizens (`dancu gen`, imported) and APPS applications seeded by direct
# inserts (crates/store/examples/seed_applications.rs: services, states, channels, due dates
# of the last two years as the engine stores them). Three officers log in: one scoped to
# the commune with the most applications, one to the province with the most, one
# nation-wide. For each, one connection (one officer clicking, bench/officer_clicks.py:
# each request sent when the last page has arrived) loads each queue kind for DURATION
# (seconds, `5s` or `5`), round robin over its paths: the page `/applications` (all, overdue
# only, each open state, further pages) and the API `GET /api/v1/applications` (same
# filters). p50 / p95 / p99 per kind and run. Every list is audited as in production.
#
#   bench/app_queue.sh [APPS=1000000] [PEOPLE=200000] [DURATION=10s] [RUNS=3]
#   (BACKENDS="sqlite postgres", SCOPES="commune province nation")
# Data is kept in $WORK (default /tmp/dancu-queue); delete it after a schema change.
set -euo pipefail
cd "$(dirname "$0")/.."
APPS=${1:-1000000}; PEOPLE=${2:-200000}; DURATION=${3:-10s}; RUNS=${4:-3}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
# DANCU_BIN and SEED_BIN: binaries already built (no build then).
[ -n "${DANCU_BIN:-}" ] || cargo build --release -q -p dancu
[ -n "${SEED_BIN:-}" ] || cargo build --release -q -p dancu-store --example seed_applications
BIN=${DANCU_BIN:-$CARGO_TARGET_DIR/release/dancu}
SEED=${SEED_BIN:-$CARGO_TARGET_DIR/release/examples/seed_applications}
WORK=${WORK:-/tmp/dancu-queue}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 14 --out "$CSV" >/dev/null
PW="bench-password-123"
export DANCU_LOG=${DANCU_LOG:-warn}
export DANCU_AUDIT_KEY_FILE="$WORK/audit.key"

# Logs in on the officer page form and prints the session cookie.
login() {
  local base=$1 user=$2 jar="$WORK/jar" csrf
  rm -f "$jar"
  csrf=$(curl -sf -c "$jar" "$base/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')
  curl -sf -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$csrf" \
    --data-urlencode "username=$user" --data-urlencode "password=$PW" "$base/login"
  echo "dancu_session=$(awk '$6=="dancu_session"{print $7}' "$jar")"
}

token() {
  curl -sf -X POST -H 'content-type: application/json' -d "{\"username\":\"$2\",\"password\":\"$PW\"}" \
    "$1/api/v1/auth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

paths() {
  local prefix=$1 sep=$2
  echo "$prefix"
  echo "$prefix${sep}overdue=true"
  for st in submitted accepted in_process info_requested; do echo "$prefix${sep}state=$st"; done
  echo "$prefix${sep}offset=50"
  echo "$prefix${sep}offset=500"
  echo "$prefix${sep}service_code=residence_temporary"
}

run_backend() {
  local name=$1 url=$2 port=$3
  # Each database its own chain of signed audit checkpoints.
  export DANCU_AUDIT_CHECKPOINT_FILE="$WORK/$name.audit.checkpoints"
  if [ ! -f "$WORK/$name.ready" ]; then
    local t0=$SECONDS
    "$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/rejects-$name.csv" >/dev/null
    echo "$name: imported $PEOPLE people in $((SECONDS - t0)) s"
    "$SEED" "$url" "$APPS" | tee "$WORK/$name.seed"
    local commune province
    commune=$(sed -n 's/^BUSIEST_COMMUNE=\([0-9]*\).*/\1/p' "$WORK/$name.seed")
    province=$(sed -n 's/^BUSIEST_PROVINCE=\([0-9]*\).*/\1/p' "$WORK/$name.seed")
    for s in "commune commune:$commune" "province province:$province" "nation nation"; do
      set -- $s
      DANCU_OFFICER_PASSWORD=$PW "$BIN" officer add --database-url "$url" --username "queue-$1" \
        --display-name "Queue $1" --role officer --scope "$2" >/dev/null
    done
    touch "$WORK/$name.ready"
  fi
  DANCU_LOG=warn "$BIN" serve --database-url "$url" --listen "127.0.0.1:$port" --token-secret-file "$WORK/secret" \
    --cookie-secure false > "$WORK/$name.serve.log" 2>&1 &
  local pid=$!
  local base="http://127.0.0.1:$port"
  for _ in $(seq 600); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
  for scope in ${SCOPES:-commune province nation}; do
    local cookie tok
    cookie=$(login "$base" "queue-$scope"); tok=$(token "$base" "queue-$scope")
    paths /applications '?' > "$WORK/page-paths"
    paths '/api/v1/applications?limit=50' '&' > "$WORK/api-paths"
    echo "$name $scope: total $(curl -sf -H "Authorization: Bearer $tok" "$base/api/v1/applications?limit=1" | sed 's/.*"total":\([0-9]*\).*/\1/')"
    for r in $(seq "$RUNS"); do
      for kind in page api; do
        local f="$WORK/$kind-paths" c="$cookie" t=""
        [ "$kind" = api ] && { c=""; t="$tok"; }
        out=$(COOKIE=$c TOKEN=$t PATHS_FILE=$f python3 bench/officer_clicks.py 127.0.0.1 "$port" "${DURATION%s}" | grep RESULT)
        echo "$name run $r $scope $kind ($(wc -l < "$f") paths, load $(cut -d' ' -f1 /proc/loadavg)): $out"
      done
    done
  done
  kill -TERM $pid; wait $pid || true
}

BACKENDS=${BACKENDS:-sqlite postgres}
if [[ " $BACKENDS " == *" sqlite "* ]]; then run_backend sqlite "sqlite://$WORK/queue-$APPS.db" 18111; fi
if [[ " $BACKENDS " == *" postgres "* ]]; then
  PGDB="dancu_bench_queue_$APPS"
  if ! psql "$PG_ADMIN" -tAc "select 1 from pg_database where datname='$PGDB'" | grep -q 1; then
    psql "$PG_ADMIN" -qc "create database $PGDB"
    rm -f "$WORK/postgres.ready"
  fi
  run_backend postgres "${PG_ADMIN%/*}/$PGDB" 18112
fi

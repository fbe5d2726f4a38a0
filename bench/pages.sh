#!/usr/bin/env bash
# Officer and portal pages with N people stored (issue 12: every page ≤ 50 ms p95 at
# 1,000,000 people, on both backends). The data is the demo's (`dancu demo --people N
# --no-serve`, one province: imported citizens, planted duplicates and the duplicate
# worklist, cards, card applications, eID accounts, quality findings), on embedded SQLite
# and on PostgreSQL. Each page kind is loaded on its own over one connection (one officer
# clicking, bench/officer_clicks.py: each request sent when the last page has arrived),
# round robin over up to 200 real paths of that kind, and its p50 / p95 / p99 and largest
# latency reported. Every read is audited as in production.
#
#   bench/pages.sh [PEOPLE=1000000] [DURATION=10s] [RUNS=3]   (BACKENDS="sqlite postgres", KINDS="search …")
#   DURATION in seconds, `10s` or `10`.
# Data is kept in $WORK (default /tmp/dancu-pages) between runs; delete it after a schema change.
# Needs: python3, curl, PostgreSQL at $PG_ADMIN for the PostgreSQL half.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-1000000}; DURATION=${2:-10s}; RUNS=${3:-3}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
cargo build --release -q -p dancu
BIN="$CARGO_TARGET_DIR/release/dancu"
WORK=${WORK:-/tmp/dancu-pages}; mkdir -p "$WORK"

# Logs in as the demo administrator (nation-wide) and prints the session cookie.
login() {
  local base=$1 jar="$WORK/jar" csrf
  rm -f "$jar"
  csrf=$(curl -sf -c "$jar" "$base/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')
  curl -sf -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$csrf" \
    --data-urlencode "username=admin" --data-urlencode "password=admin-demo-2025" "$base/login"
  echo "dancu_session=$(awk '$6=="dancu_session"{print $7}' "$jar")"
}

# Up to 200 distinct links matching $2 found on the pages listed in file $1.
links() {
  local from=$1 pattern=$2 p
  while read -r p; do curl -sf -H "Cookie: $COOKIE" "$BASE$p" || true; done < "$from" |
    grep -o "href=\"$pattern\"" | sed 's/^href="//;s/"$//;s/&amp;/\&/g' | awk '!seen[$0]++' | head -200
}

# Writes the paths of each page kind into $WORK/paths-<backend>/<kind>.
collect() {
  local dir=$1; rm -rf "$dir"; mkdir -p "$dir"
  printf '%s\n' "/search?q=Nguy%E1%BB%85n+V%C4%83n" "/search?q=nguyen+thi" "/search?q=Tr%E1%BA%A7n" \
    "/search?q=Ho%C3%A0ng+Anh" "/search?q=le+van+1990" "/search?q=Ph%E1%BA%A1m+Th%E1%BB%8B+Lan" \
    "/search?q=Lan" "/search?q=anh+nguy%E1%BB%85n" "/search?q=tu%E1%BA%A5n+1985" > "$dir/search"
  links "$dir/search" '/citizens/[0-9]*' > "$dir/citizen"
  sed 's|$|/edit|' "$dir/citizen" > "$dir/edit"
  sed 's|$|/address|' "$dir/citizen" > "$dir/address"
  links "$dir/citizen" '/households/[^"/]*' > "$dir/household"
  echo /cards > "$dir/card-board"
  echo /cards/due > "$dir/cards-due"
  printf '%s\n' /cards /cards/due > "$WORK/lists"
  links "$WORK/lists" '/cards/[0-9][0-9]*' > "$dir/card-application"
  echo /eid > "$dir/eid-queue"
  links "$dir/eid-queue" '/eid/accounts/[0-9][0-9]*' > "$dir/eid-account"
  echo /dedup > "$dir/dedup"
  echo /quality > "$dir/quality"
  links "$dir/quality" '/quality/[a-z_]*' > "$dir/quality-worklist"
  echo /officers > "$dir/officers"
  echo /citizens/new-birth > "$dir/new-birth"
  printf '%s\n' /portal /portal/register > "$dir/portal"
  for f in "$dir"/*; do [ -s "$f" ] || { echo "no paths for $(basename "$f")" >&2; rm "$f"; }; done
}

run_backend() {
  local name=$1 port=$2; shift 2
  local data="$WORK/$name-$PEOPLE"
  if [ ! -f "$data/ready" ]; then
    "$BIN" demo --people "$PEOPLE" --data-dir "$data" --no-serve "$@" > "$data.setup.log" 2>&1
    touch "$data/ready"
  fi
  DANCU_LOG=warn "$BIN" demo --people "$PEOPLE" --data-dir "$data" --listen "127.0.0.1:$port" \
    --cookie-secure false "$@" > "$data.serve.log" 2>&1 &
  local pid=$!
  BASE="http://127.0.0.1:$port"
  for _ in $(seq 600); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
  COOKIE=$(login "$BASE"); export COOKIE
  collect "$WORK/paths-$name"
  for r in $(seq "$RUNS"); do
    for f in "$WORK/paths-$name"/*; do
      local kind; kind=$(basename "$f")
      # KINDS="search citizen": only those page kinds.
      if [ -n "${KINDS:-}" ] && [[ " $KINDS " != *" $kind "* ]]; then continue; fi
      # The portal's pages are public: no officer cookie.
      local c=$COOKIE; [ "$kind" = portal ] && c=""
      out=$(COOKIE=$c PATHS_FILE=$f python3 bench/officer_clicks.py 127.0.0.1 "$port" "${DURATION%s}" | grep RESULT)
      echo "$name run $r $kind ($(wc -l < "$f") paths): $out"
    done
  done
  echo "$name serve peak RSS: $(grep VmHWM /proc/$pid/status)"
  kill -TERM $pid; wait $pid || true
}

BACKENDS=${BACKENDS:-sqlite postgres}
if [[ " $BACKENDS " == *" sqlite "* ]]; then run_backend sqlite 18091; fi
if [[ " $BACKENDS " == *" postgres "* ]]; then
  PGDB="dancu_bench_pages_$PEOPLE"
  if ! psql "$PG_ADMIN" -tAc "select 1 from pg_database where datname='$PGDB'" | grep -q 1; then
    psql "$PG_ADMIN" -qc "create database $PGDB"
    rm -f "$WORK/postgres-$PEOPLE/ready"
  fi
  run_backend postgres 18092 --database-url "${PG_ADMIN%/*}/$PGDB"
fi

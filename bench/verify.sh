#!/usr/bin/env bash
# Partner verification (issue 13) over HTTP with N people stored, load from wrk on the same
# machine, in the method of bench/lookup.sh: single verifications (POST
# /api/v1/partner/verify, name + date of birth + sex, audited) against the constant-answer
# handler of the same server in the same run (the ratio is the figure), 64 keep-alive
# connections; then batches of 10,000 records (POST /api/v1/partner/verify/batch), timed
# one call at a time with curl.
#
#   bench/verify.sh [PEOPLE=1000000] [RUNS=3] [DURATION=15s] [BATCHES=5]   (BACKENDS="sqlite postgres")
# Shares $WORK (default /tmp/dancu-bench) and its databases with bench/lookup.sh.
# Needs: wrk, curl, python3; PostgreSQL at $PG_ADMIN for the PostgreSQL half.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-1000000}; RUNS=${2:-3}; DURATION=${3:-15s}; BATCHES=${4:-5}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
# DANCU_BIN: a binary already built (to try the script on a debug build; figures need release).
if [ -z "${DANCU_BIN:-}" ]; then cargo build --release -q -p dancu; fi
BIN=${DANCU_BIN:-"$CARGO_TARGET_DIR/release/dancu"}
WORK=${WORK:-/tmp/dancu-bench}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"
# 20,000 stored people spread over the file: id, full name, date of birth, sex.
python3 - "$CSV" "$PEOPLE" > "$WORK/verify-records.txt" <<'PY'
import csv, sys
step = int(sys.argv[2]) // 20000 + 1
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    for i, r in enumerate(csv.DictReader(f)):
        if i % step == 0:
            name = ' '.join(p for p in (r['family_name'], r['middle_name'], r['given_name']) if p)
            print(f"{r['personal_id']},{name},{r['birth_date']},{r['sex']}")
PY
export RECORDS_FILE="$WORK/verify-records.txt"
# One batch body of 10,000 of them.
python3 - "$RECORDS_FILE" > "$WORK/verify-batch.json" <<'PY'
import json, sys
rows = [l.rstrip('\n').split(',') for l in open(sys.argv[1], encoding='utf-8')][:10000]
recs = [{"personal_id": i, "full_name": n, "date_of_birth": d, "sex": s} for i, n, d, s in rows]
while len(recs) < 10000:
    recs += recs[:10000 - len(recs)]
print(json.dumps({"purpose": "bench: đối soát theo lô", "records": recs}, ensure_ascii=False))
PY
PW="bench-password-123"
. bench/pg_production.sh

proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
load() {
  local hz s0 m0 out; hz=$(getconf CLK_TCK); s0=$(proc_ticks "$3"); m0=$(machine_ticks)
  out=$(CONSTANT=$1 wrk -t2 -c64 -d"$DURATION" --latency -s bench/verify.lua "http://127.0.0.1:$2" | grep RESULT)
  local s1 m1 n; s1=$(proc_ticks "$3"); m1=$(machine_ticks); n=$(echo "$out" | sed 's/.*requests=\([0-9]*\).*/\1/')
  echo "$out $(awk -v s=$((s1 - s0)) -v m=$((m1 - m0)) -v n="$n" -v hz="$hz" 'BEGIN{printf "server_us_per_req=%.1f machine_us_per_req=%.1f", s*1e6/hz/n, m*1e6/hz/n}')"
}

# A fresh client-credentials token of the bench partner (tokens live at most 10 minutes).
partner_token() {
  curl -sf -u "bench-partner:$SECRET" -d grant_type=client_credentials -d scope=partner:verify \
    "http://127.0.0.1:$1/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

run_backend() {
  local name=$1 url=$2 port=$3
  DANCU_OFFICER_PASSWORD=$PW "$BIN" officer add --database-url "$url" --username bench --display-name Bench --role admin --scope nation >/dev/null 2>&1 || true
  local out
  out=$("$BIN" client add --database-url "$url" --id bench-partner --name "Bench partner" --grant client_credentials --scope partner:verify 2>/dev/null) \
    || out=$("$BIN" client rotate-secret --database-url "$url" bench-partner 2>/dev/null)
  SECRET=$(echo "$out" | sed -n 's/^client_secret=//p')
  "$BIN" partner entitle --database-url "$url" bench-partner --name "Bench partner" --operations verify --units nation --rate 100000 --burst 100000 >/dev/null
  DANCU_LOG=warn DANCU_BENCH_ENDPOINT=true "$BIN" serve --database-url "$url" --listen 127.0.0.1:$port --token-secret-file "$WORK/secret" &
  local pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  if [ "$name" = postgres ]; then wait_sequenced psql "$url"; else wait_sequenced sqlite "$SQLITE_DB"; fi
  export TOKEN=$(curl -sf -X POST -H 'content-type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" "http://127.0.0.1:$port/api/v1/auth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  export PTOKEN; PTOKEN=$(partner_token "$port")
  # A wrong token or entitlement would make every request a fast refusal: check one first.
  curl -sf -H "Authorization: Bearer $PTOKEN" -H 'content-type: application/json' \
    -d "{\"purpose\":\"bench check\",\"personal_id\":\"$(head -1 "$RECORDS_FILE" | cut -d, -f1)\"}" \
    "http://127.0.0.1:$port/api/v1/partner/verify" | grep -q '"result":"id_only"' || { echo "$name: verification does not answer"; kill $pid; exit 1; }
  CONSTANT=0 wrk -t2 -c64 -d3s -s bench/verify.lua "http://127.0.0.1:$port" >/dev/null
  for r in $(seq "$RUNS"); do
    PTOKEN=$(partner_token "$port")
    c=$(load 1 "$port" "$pid"); l=$(load 0 "$port" "$pid")
    crps=$(echo "$c" | sed 's/.* rps=\([0-9]*\).*/\1/'); lrps=$(echo "$l" | sed 's/.* rps=\([0-9]*\).*/\1/')
    echo "$name run $r: constant [$c] verify [$l] ratio=$(awk "BEGIN{printf \"%.2f\", $lrps/$crps}")"
  done
  PTOKEN=$(partner_token "$port")
  for b in $(seq "$BATCHES"); do
    t=$(curl -s -o "$WORK/batch-answer.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $PTOKEN" \
      -H 'content-type: application/json' --data-binary @"$WORK/verify-batch.json" "http://127.0.0.1:$port/api/v1/partner/verify/batch")
    matched=$(grep -o '"result":"match","life_status"' "$WORK/batch-answer.json" | wc -l)
    echo "$name batch $b: status+seconds=$t records=10000 matched=$matched"
  done
  echo "$name serve peak RSS: $(grep VmHWM /proc/$pid/status)"
  kill -TERM $pid; wait $pid || true
}

BACKENDS=${BACKENDS:-sqlite postgres}
SQLITE_DB="$WORK/lookup-$PEOPLE.db"
if [[ " $BACKENDS " == *" sqlite "* ]]; then
if [ ! -f "$SQLITE_DB" ]; then "$BIN" import citizens "$CSV" --database-url "sqlite://$SQLITE_DB" --rejects "$WORK/rejects.csv"; fi
run_backend sqlite "sqlite://$SQLITE_DB" 18083
fi
[[ " $BACKENDS " == *" postgres "* ]] || exit 0

PGDB="dancu_bench_lookup_$PEOPLE"
pg_production_on "$PG_ADMIN"; trap pg_production_off EXIT
if ! psql "$PG_ADMIN" -tAc "select 1 from pg_database where datname='$PGDB'" | grep -q 1; then
  psql "$PG_ADMIN" -qc "create database $PGDB"
  "$BIN" import citizens "$CSV" --database-url "${PG_ADMIN%/*}/$PGDB" --rejects "$WORK/rejects-pg.csv"
fi
run_backend postgres "${PG_ADMIN%/*}/$PGDB" 18084

#!/usr/bin/env bash
# The pull feed's rate to one consumer: a `dancu gen` file imported into SQLite (one
# `citizen.created` event per person), a nation-wide partner entitled to every kind and
# field, then one consumer reads the whole feed with limit=5000 from the start, RUNS times.
# Prints events/s per run (the reads include the audit entry per page).
#
#   bench/feed_pull.sh [PEOPLE=100000] [RUNS=3]     (BIN=path/to/dancu to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-100000}; RUNS=${2:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
if [ -z "${BIN:-}" ]; then cargo build --release -q -p dancu; BIN="$CARGO_TARGET_DIR/release/dancu"; fi
WORK=${WORK:-/tmp/dancu-bench}; mkdir -p "$WORK/feed"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"
rm -rf "$WORK/feed"/*; url="sqlite://$WORK/feed/feed.db"
export DANCU_LOG=warn
"$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/feed/rejects.csv" >/dev/null 2>&1
secret=$("$BIN" client add --database-url "$url" --id feedbench --name "Feed bench" --grant client_credentials \
  --scope partner:feed 2>/dev/null | sed -n 's/^client_secret=//p')
"$BIN" partner entitle feedbench --database-url "$url" --name "Feed bench" --operations feed \
  --feed-kinds citizen.created,citizen.updated,citizen.deceased,household.changed \
  --fields full_name,date_of_birth,sex,life_status,permanent_address,household --rate 100000 --burst 100000
PORT=${PORT:-18093}
"$BIN" serve --database-url "$url" --listen "127.0.0.1:$PORT" --cookie-secure false &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
token=$(curl -s -u "feedbench:$secret" -d grant_type=client_credentials -d scope=partner:feed \
  "http://127.0.0.1:$PORT/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
python3 - "$PORT" "$token" "$RUNS" <<'PY'
import json, sys, time, urllib.request
port, token, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
for r in range(runs):
    after, n, t0 = "", 0, time.time()
    while True:
        q = f"http://127.0.0.1:{port}/api/v1/partner/feed?purpose=bench%20feed&limit=5000&after={after}"
        req = urllib.request.Request(q, headers={"Authorization": f"Bearer {token}"})
        body = json.load(urllib.request.urlopen(req))
        if not body["events"]:
            break
        n += len(body["events"]); after = body["next_cursor"]
    dt = time.time() - t0
    print(f"run {r+1}: {n} events in {dt:.2f} s = {n/dt:.0f} events/s")
PY

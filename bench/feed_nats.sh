#!/usr/bin/env bash
# Publication of the change feed to NATS JetStream (issue 15: keeps up with 5,000 changes
# per second). PEOPLE people imported into BACKEND (sqlite or postgres); one partner
# entitled to `citizen.updated`; `dancu serve` publishes to its own stream (FEEDBENCH,
# subjects `feedbench.>`, deleted first) on NATS at $NATS (default 127.0.0.1:4222); a
# writer changes RATE citizens per second for SECONDS (bench/feed_load.py write); a core
# NATS subscriber on `feedbench.>` (bench/feed_load.py natsub) sees each message as it is
# published and prints per second how many arrived and their lag (arrival − the event's
# occurred_at). After the writer stops the run waits until the stream holds every event
# (or DRAIN seconds). RUNS runs on one database.
#
#   BACKEND=sqlite|postgres bench/feed_nats.sh [RATE=5000] [SECONDS=30] [RUNS=3]
#   (BIN=path/to/dancu to skip the build; PEOPLE=100000; DRAIN=120)
RATE=${1:-5000}; SECONDS_=${2:-30}; RUNS=${3:-3}; DRAIN=${DRAIN:-120}
source "$(dirname "$0")/feed_setup.sh" nats
NATS=${NATS:-127.0.0.1:4222}
PORT=${PORT:-18095}
partner natsbench
printf 'feed_nats_stream = "FEEDBENCH"\nfeed_nats_prefix = "feedbench"\nwebhooks = false\n' > "$WORK/dancu.toml"
python3 "$LOAD" stream-delete "$NATS" FEEDBENCH
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for run in $(seq "$RUNS"); do
  python3 -u "$LOAD" natsub "$NATS" 'feedbench.>' "$WORK/sub-$run.json" > "$WORK/sub-$run.log" 2>&1 &
  SUB=$!
  DANCU_FEED_NATS_URL="nats://$NATS" "$BIN" serve --config "$WORK/dancu.toml" --database-url "$URL" \
    --listen "127.0.0.1:$PORT" --cookie-secure false >> "$WORK/serve.log" 2>&1 &
  SERVER=$!; PIDS=("$SUB" "$SERVER")
  wait_http "$PORT"
  # Let the publisher pass the events already there (the import's, not entitled) first.
  for _ in $(seq 60); do
    [ "$(sql "SELECT count(*) FROM outbox WHERE position IS NULL")" = 0 ] && break; sleep 1
  done
  sleep 3
  before=$(python3 "$LOAD" stream "$NATS" FEEDBENCH | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"] or 0)')
  load0=$(cut -d' ' -f1 /proc/loadavg)
  wrote=$(python3 "$LOAD" write "$BACKEND" "$DB" "$IDS" "$RATE" "$SECONDS_")
  changed=$(echo "$wrote" | python3 -c 'import json,sys; print(json.load(sys.stdin)["changed"])')
  t=0; stored=0
  while [ "$t" -lt "$DRAIN" ]; do
    stored=$(( $(python3 "$LOAD" stream "$NATS" FEEDBENCH | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"] or 0)') - before ))
    [ "$stored" -ge "$changed" ] && break
    sleep 1; t=$((t + 1))
  done
  load1=$(cut -d' ' -f1 /proc/loadavg)
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  kill -TERM "$SUB"; wait "$SUB" 2>/dev/null || true
  echo "run $run: writer $wrote; stored in the stream $stored of $changed, drained after ${t}s; load $load0 -> $load1"
  echo "  subscriber: $(cat "$WORK/sub-$run.json")"
  echo "  per second (received, lag p99): $(grep -o 'received [0-9]*/s lag p99 [0-9]* ms' "$WORK/sub-$run.log" | awk '{printf "%s:%s ", $2, $5}')"
done

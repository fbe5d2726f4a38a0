#!/usr/bin/env bash
# Webhook delivery lag (issue 15: p99 < 2 s at 1,000 changes per second, 5 subscribers).
# PEOPLE people imported into BACKEND (sqlite or postgres); five partners entitled to
# `citizen.updated`, each with one subscription to its own local receiver
# (bench/feed_load.py receive); `dancu serve` runs its webhook dispatcher; a writer changes
# RATE citizens per second for SECONDS (one transaction per 20 ms through the outbox
# triggers, bench/feed_load.py write). After the writer stops, the run waits until every
# delivery is done (or DRAIN seconds). Lag = arrival at the receiver − the event's
# occurred_at. RUNS runs on one database (the subscriptions carry on from their cursor).
#
#   BACKEND=sqlite|postgres bench/feed_webhooks.sh [RATE=1000] [SECONDS=30] [RUNS=3]
#   (BIN=path/to/dancu to skip the build; PEOPLE=100000; DRAIN=120)
RATE=${1:-1000}; SECONDS_=${2:-30}; RUNS=${3:-3}; DRAIN=${DRAIN:-120}
source "$(dirname "$0")/feed_setup.sh" webhooks
PORT=${PORT:-18094}; RPORT=${RPORT:-18100}
ports=()
# The import's events get positions 1..N when first sequenced: subscriptions start after them.
from=$(sql "SELECT count(*) FROM outbox")
for i in 1 2 3 4 5; do
  partner "wh$i"
  p=$((RPORT + i)); ports+=("$p")
  "$BIN" partner webhook --database-url "$URL" add "wh$i" "http://127.0.0.1:$p/hook" --from "$from" >/dev/null 2>&1
done
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for run in $(seq "$RUNS"); do
  python3 "$LOAD" receive "$WORK/recv-$run.json" "${ports[@]}" > "$WORK/recv-$run.log" 2>&1 &
  RECV=$!
  "$BIN" serve --database-url "$URL" --listen "127.0.0.1:$PORT" --cookie-secure false >> "$WORK/serve.log" 2>&1 &
  SERVER=$!; PIDS=("$RECV" "$SERVER")
  wait_http "$PORT"
  before=$(sql "SELECT count(*) FROM outbox")
  load0=$(cut -d' ' -f1 /proc/loadavg)
  wrote=$(python3 "$LOAD" write "$BACKEND" "$DB" "$IDS" "$RATE" "$SECONDS_")
  head=$(sql "SELECT max(id) FROM outbox")
  t=0
  while [ "$t" -lt "$DRAIN" ]; do
    left=$(sql "SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') + \
      (SELECT count(*) FROM outbox WHERE position IS NULL) + \
      (SELECT count(*) FROM webhooks WHERE cursor < (SELECT coalesce(max(position), 0) FROM outbox))")
    [ "$left" = 0 ] && break
    sleep 1; t=$((t + 1))
  done
  load1=$(cut -d' ' -f1 /proc/loadavg)
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  kill -TERM "$RECV"; wait "$RECV" 2>/dev/null || true
  events=$(( $(sql "SELECT count(*) FROM outbox") - before ))
  dead=$(sql "SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'")
  echo "run $run: writer $wrote; events $events (x5 = $((events * 5)) deliveries expected); drained after ${t}s;" \
    "dead $dead; load $load0 -> $load1"
  echo "  receivers: $(cat "$WORK/recv-$run.json")"
done

#!/usr/bin/env bash
# Password logins per second: argon2id at OWASP's parameters (19 MiB, t=2, p=1), through
# POST /api/v1/auth/token, 4 connections, load from wrk on the same 2-core machine.
#
#   bench/login.sh [RUNS=3] [DURATION=10s]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}; DURATION=${2:-10s}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
cargo build --release -q -p dancu
BIN="$CARGO_TARGET_DIR/release/dancu"
WORK=$(mktemp -d)
URL="sqlite://$WORK/login.db"
DANCU_OFFICER_PASSWORD=bench-password-123 "$BIN" officer add --database-url "$URL" --username bench --display-name Bench --role officer --scope nation >/dev/null 2>&1
DANCU_LOG=warn "$BIN" serve --database-url "$URL" --listen 127.0.0.1:18083 --token-secret-file "$WORK/secret" &
pid=$!
trap 'kill $pid; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18083/readyz >/dev/null && break; sleep 0.1; done
for r in $(seq "$RUNS"); do
  echo "run $r: $(wrk -t2 -c4 -d"$DURATION" --latency -s bench/login.lua http://127.0.0.1:18083 | grep RESULT)"
done

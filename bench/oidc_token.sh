#!/usr/bin/env bash
# Token endpoint, client credentials (issue 13: >= 2,000 tokens/s, and at least as fast as
# the npm package oidc-provider configured equivalently, side by side on the same machine).
#
# dancu (`dancu serve`, release, embedded SQLite) and oidc-provider (bench/oidc-provider,
# Node.js, one worker per core) both issue ES256-signed JWT access tokens for one audience,
# 300 s, to a confidential client authenticated with client_secret_basic. wrk (2 threads,
# 32 keep-alive connections) loads one server at a time, alternating, RUNS times each; the
# ratio is taken per pair of runs. Every answer must be 200 (errors are counted).
#
#   bench/oidc_token.sh [RUNS=3] [DURATION=10s]
# Needs: wrk, node + npm (installs oidc-provider into bench/oidc-provider/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}; DURATION=${2:-10s}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
cargo build --release -q -p dancu --locked
BIN="$CARGO_TARGET_DIR/release/dancu"
WORK=$(mktemp -d); PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
(cd bench/oidc-provider && [ -d node_modules/oidc-provider ] || npm install --no-audit --no-fund --silent)

DB="sqlite://$WORK/dancu.db"
DANCU_LOG=warn "$BIN" serve --database-url "$DB" --listen 127.0.0.1:39201 --token-secret-file "$WORK/secret" \
  > "$WORK/dancu.log" 2>&1 & PIDS+=($!)
for _ in $(seq 200); do curl -sf http://127.0.0.1:39201/readyz >/dev/null && break; sleep 0.1; done
out=$("$BIN" client add --database-url "$DB" --name "Bench partner" --id bench-partner \
  --grant client_credentials --scope partner:verify 2>/dev/null)
SECRET=$(echo "$out" | sed -n 's/^client_secret=//p')
sleep 3 # the running server's client cache reloads every 2 s
OP_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
node bench/oidc-provider/server.mjs 39202 bench-partner "$OP_SECRET" "$(nproc)" > "$WORK/op.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:39202/.well-known/openid-configuration && break; sleep 0.1; done

check() { # one token from each, to be sure both are configured
  curl -sf -u "$1" -d grant_type=client_credentials -d scope=partner:verify "$2" | grep -q '"access_token":"ey' \
    || { echo "no token from $2" >&2; cat "$WORK"/*.log >&2; exit 1; }
}
check "bench-partner:$SECRET" http://127.0.0.1:39201/oauth/token
check "bench-partner:$OP_SECRET" http://127.0.0.1:39202/token

run() { CLIENT_AUTH=$(printf '%s' "$1" | base64 -w0) TOKEN_PATH=$2 wrk -t2 -c32 -d"$DURATION" --latency -s bench/oidc_token.lua "$3" | grep RESULT; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); node $(node --version); oidc-provider $(node -p "require('./bench/oidc-provider/node_modules/oidc-provider/package.json').version")"
for r in $(seq "$RUNS"); do
  d=$(run "bench-partner:$SECRET" /oauth/token http://127.0.0.1:39201)
  o=$(run "bench-partner:$OP_SECRET" /token http://127.0.0.1:39202)
  dr=$(echo "$d" | sed 's/.*rps=\([0-9]*\).*/\1/'); orr=$(echo "$o" | sed 's/.*rps=\([0-9]*\).*/\1/')
  echo "run $r dancu: $d"
  echo "run $r oidc-provider: $o"
  echo "run $r ratio dancu/oidc-provider: $(awk -v a="$dr" -v b="$orr" 'BEGIN{printf "%.2f", a/b}')"
done

#!/usr/bin/env bash
# Authorization-code exchange (issue 13: >= 1,000 per second, the password hash excluded):
# code -> ID token + access token + refresh token at /oauth/token, client_secret_basic,
# PKCE S256. `dancu demo` (release, SQLite) is started; bench/oidc_codes.py logs its level-2
# citizen in once and collects CODES authorization codes on that session (prompt=none), so no
# password is hashed during the run; wrk (2 threads, 16 connections) then exchanges each code
# once. Every answer must be 200: the run is cut to the codes available.
#
#   bench/oidc_code.sh [CODES=30000] [DURATION=5s] [RUNS=3]
# Needs: wrk, python3 with requests (the venv of tests/oidc/authlib.sh works).
set -euo pipefail
cd "$(dirname "$0")/.."
CODES=${1:-30000}; DURATION=${2:-5s}; RUNS=${3:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
PY=${PY:-$HOME/.cache/dancu-venv/bin/python}
cargo build --release -q -p dancu --locked
BIN="$CARGO_TARGET_DIR/release/dancu"
WORK=$(mktemp -d); PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=39301; BASE="http://127.0.0.1:$PORT"; REDIRECT="http://127.0.0.1:39302/callback"
DANCU_LOG=warn "$BIN" demo --people 2000 --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --oidc-issuer "$BASE" \
  --demo-rp-listen 127.0.0.1:39302 --demo-rp-redirect "$REDIRECT" --cookie-secure false > "$WORK/banner" 2> "$WORK/log" & PID=$!
for _ in $(seq 300); do grep -q '^API:' "$WORK/banner" 2>/dev/null && break; sleep 0.5; done
SECRET=$(sed -n 's/.*client_id demo-portal \/ client_secret \([^ ]*\).*/\1/p' "$WORK/banner")
read -r CITIZEN PASSWORD TOTP < <(sed -n 's/.*log in as \([0-9]*\) \/ \([^ ]*\) with the authenticator key \([A-Z2-7]*\).*/\1 \2 \3/p' "$WORK/banner")
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); making codes …"
for r in $(seq "$RUNS"); do
  "$PY" bench/oidc_codes.py "$BASE" demo-portal "$REDIRECT" "$CITIZEN" "$PASSWORD" "$TOTP" "$CODES" > "$WORK/codes"
  CODES_FILE="$WORK/codes" CLIENT_AUTH=$(printf 'demo-portal:%s' "$SECRET" | base64 -w0) REDIRECT="$REDIRECT" THREADS=2 \
    wrk -t2 -c16 -d"$DURATION" --latency -s bench/oidc_code.lua "$BASE" | grep RESULT | sed "s/^/run $r /"
  sleep 31 # the next login needs the next TOTP step (a code is accepted once)
done

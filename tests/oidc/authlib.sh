#!/usr/bin/env bash
# Conformance with a relying party this project did not write: Python's Authlib
# (tests/oidc/authlib_rp.py) against a real `dancu demo` server, on SQLite and on
# PostgreSQL. Installs Authlib (pinned) into the virtual environment the fuzzing gate uses.
#
#   tests/oidc/authlib.sh                # both backends (PostgreSQL at $DANCU_TEST_PG_URL)
#   BACKENDS=sqlite tests/oidc/authlib.sh
#
# The demo registers nothing here: this script adds its own portal client with
# `dancu client add`, and makes a level-2 citizen through the officer API (registration,
# approval, card, upgrade). Access tokens live 4 s in this run, to test expiry.
set -euo pipefail
cd "$(dirname "$0")/../.."
AUTHLIB_VERSION="1.6.5"
VENV="${DANCU_FUZZ_VENV:-$HOME/.cache/dancu-venv}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${DANCU_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
say() { echo "authlib: $*" >&2; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "import authlib, requests, sys; sys.exit(authlib.__version__ != '$AUTHLIB_VERSION')" 2>/dev/null; then
  say "installing Authlib $AUTHLIB_VERSION into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "authlib==$AUTHLIB_VERSION" requests || {
    [ "${CI:-}" = "true" ] && { say "could not install Authlib"; exit 1; }
    say "SKIPPING: Authlib could not be installed"; exit 0; }
fi
PY="$VENV/bin/python"
cargo build -q -p dancu --locked
BIN="$CARGO_TARGET_DIR/debug/dancu"

run_one() {
  local backend=$1 work port base url pid dbname=""
  work=$(mktemp -d)
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  if [ "$backend" = postgres ]; then
    dbname="dancu_authlib_$$"
    psql -q "$PG_URL" -c "CREATE DATABASE $dbname" >/dev/null
    url="${PG_URL%/*}/$dbname"
  else
    url="sqlite://$work/data/dancu.db"
  fi
  say "$backend: dancu demo on $base"
  echo "oidc_access_token_secs = 4" > "$work/dancu.toml"
  DANCU_CONFIG="$work/dancu.toml" "$BIN" demo --people 300 --data-dir "$work/data" --database-url "$url" \
    --listen "127.0.0.1:$port" --oidc-issuer "$base" --demo-rp-listen off --cookie-secure false \
    > "$work/server.log" 2>&1 &
  pid=$!
  local status=0
  "$PY" tests/oidc/prepare_citizen.py "$BIN" "$base" "$url" "$work" > "$work/args" || status=$?
  if [ $status -eq 0 ]; then
    # shellcheck disable=SC2046
    "$PY" tests/oidc/authlib_rp.py $(cat "$work/args") || status=$?
  fi
  [ $status -eq 0 ] || { say "$backend failed; server log:"; tail -n 40 "$work/server.log" >&2; }
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  [ -n "$dbname" ] && psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null
  rm -rf "$work"
  return $status
}

for b in $BACKENDS; do run_one "$b"; done
say "passed on: $BACKENDS"

#!/usr/bin/env bash
# Runs dancu's whole test suite: unit, property, conformance (SQLite and PostgreSQL),
# HTTP API and headless-Chromium browser tests, then the fuzzing gate: schemathesis against a
# demo server from its own OpenAPI document (tests/fuzz/schemathesis.sh), and Python's Authlib
# as a relying party of the OpenID Connect provider on both backends (tests/oidc/authlib.sh).
# tests/replica/run.sh starts a throwaway PostgreSQL primary with a streaming replica and runs
# the replica and two-server tests against them.
# Installs what it
# needs when missing (Chromium, ChromeDriver and LibreOffice from Debian, schemathesis from PyPI into a
# virtual environment under ~/.cache).
#
#   ./test.sh                      # PostgreSQL at postgres://postgres@127.0.0.1:5432/test
#   DANCU_TEST_PG_URL=postgres://… ./test.sh
#
# With CI=true an unreachable PostgreSQL or a missing browser is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")"

export DANCU_TEST_PG_URL="${DANCU_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
# The reports' test opens the DOCX, PDF and XLSX dancu writes in LibreOffice, headless.
command -v soffice >/dev/null 2>&1 || need_pkgs+=(libreoffice-writer-nogui libreoffice-calc-nogui)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_pkgs[*]} for the browser tests" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q "${need_pkgs[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${need_pkgs[@]}" >/dev/null
  }
fi

# Fail early and clearly when PostgreSQL is required but down.
if [ "${CI:-}" = "true" ] && command -v pg_isready >/dev/null 2>&1; then
  pg_isready -d "$DANCU_TEST_PG_URL" -t 10 || { echo "test.sh: PostgreSQL unreachable at $DANCU_TEST_PG_URL" >&2; exit 1; }
fi

cargo test --workspace --locked
tests/replica/run.sh
tests/fuzz/schemathesis.sh
tests/oidc/authlib.sh

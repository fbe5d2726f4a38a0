#!/usr/bin/env bash
# Starts a throwaway PostgreSQL primary and a streaming replica of it (pg_basebackup -R, hot
# standby), runs the tests that need them, and stops both (issue 15, part 4). The machine's
# own PostgreSQL does not allow replication connections, so the pair is a cluster of its own
# under a temporary directory, on ports 55432 (primary) and 55433 (replica).
#
#   tests/replica/run.sh            # called by test.sh
#   KEEP=1 tests/replica/run.sh     # leaves the pair running and prints its URLs
#
# Needs PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) and, when run as root,
# the `postgres` user to own the clusters. Under CI=true a missing piece is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail_or_skip() {
  if [ "${CI:-}" = "true" ]; then echo "replica: $1" >&2; exit 1; fi
  echo "replica: skipped: $1" >&2; exit 0
}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || fail_or_skip "no PostgreSQL server binaries under /usr/lib/postgresql"
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || fail_or_skip "running as root without a postgres user"
  # From `/`: the postgres user may not enter the checkout (a clone in a `mktemp -d`
  # folder is root's alone), and pg_ctl fails when it cannot change to its directory.
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  as_pg() { "$@"; }
fi

P1=${REPLICA_PRIMARY_PORT:-55432}
P2=${REPLICA_PORT:-55433}
dir=$(mktemp -d /tmp/dancu-replica.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"

stop() {
  as_pg "$bin/pg_ctl" -D "$dir/replica" -m immediate stop >/dev/null 2>&1 || true
  as_pg "$bin/pg_ctl" -D "$dir/primary" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
[ -z "${KEEP:-}" ] && trap stop EXIT

as_pg "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$dir/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P1
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
synchronous_commit = on
max_connections = 200
CONF
as_pg "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$dir/replica" -R -X stream >/dev/null
sed -i "s/^port = $P1/port = $P2/" "$dir/replica/postgresql.conf"
as_pg "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null
in_recovery=$(psql -h 127.0.0.1 -p "$P2" -U postgres -d postgres -Atc "SELECT pg_is_in_recovery()")
[ "$in_recovery" = "t" ] || { echo "replica: the standby on $P2 is not in recovery" >&2; exit 1; }

export DANCU_TEST_PG_PRIMARY_URL="postgres://postgres@127.0.0.1:$P1/postgres"
export DANCU_TEST_PG_REPLICA_URL="postgres://postgres@127.0.0.1:$P2/postgres"
echo "replica: primary $DANCU_TEST_PG_PRIMARY_URL, streaming replica $DANCU_TEST_PG_REPLICA_URL"
if [ -n "${KEEP:-}" ]; then
  echo "replica: left running in $dir (stop: $bin/pg_ctl -D $dir/{replica,primary} stop)"
  exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
cargo test --locked -p dancu-store --test replica
cargo test --locked -p dancu --test it two_servers

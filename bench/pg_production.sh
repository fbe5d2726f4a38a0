# Sourced by the benchmarks that use PostgreSQL: measure with the settings a production
# server has. This machine's PostgreSQL runs with `autovacuum = off` (a test-speed setting
# in /etc/postgresql/15/main/conf.d/90-ci.conf); without it the queue-like tables (outbox,
# webhook deliveries, throttle rows) and updated rows (applications) keep every dead tuple,
# and each poll of a partial index walks them all. `pg_production_on URL` turns autovacuum
# on for the run (ALTER SYSTEM + reload); `pg_production_off`, called from the script's EXIT
# trap, puts the setting back.
PG_PRODUCTION_URL=""
pg_production_on() {
  if [ "$(psql "$1" -tAc 'show autovacuum')" = "off" ]; then
    echo "bench: PostgreSQL has autovacuum off; turning it on for this run (production default)" >&2
    psql "$1" -qc "ALTER SYSTEM SET autovacuum = on" -c "SELECT pg_reload_conf()" >/dev/null
    PG_PRODUCTION_URL=$1
  fi
}
pg_production_off() {
  [ -z "$PG_PRODUCTION_URL" ] && return 0
  psql "$PG_PRODUCTION_URL" -qc "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null
  PG_PRODUCTION_URL=""
}

# Waits until the server has given every stored event its feed position: an import stores
# one event per person, and sequencing a million of them must not overlap a measurement.
# `wait_sequenced psql URL` or `wait_sequenced sqlite FILE`.
wait_sequenced() {
  local n
  for _ in $(seq 600); do
    if [ "$1" = psql ]; then n=$(psql "$2" -tAc "select count(*) from outbox where position is null")
    else n=$(sqlite3 "$2" "select count(*) from outbox where position is null"); fi
    [ "$n" = 0 ] && return 0
    sleep 1
  done
  echo "bench: the feed sequencer did not finish ($n events waiting)" >&2; return 1
}

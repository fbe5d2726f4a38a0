#!/usr/bin/env bash
# The demo tried from "another device on the LAN" (issue 12), on one machine: a network
# namespace with its own address stands in for the second device. Needs root (ip netns).
#
#   tests/lan/trial.sh [path/to/dancu]
# It starts the demo on 0.0.0.0:8080 twice: with the default Secure cookies (the login from
# the other device must fail: the browser-like client drops the Secure CSRF cookie over
# http://, and dancu warns at start) and with --cookie-secure false (the login must work).
set -euo pipefail
BIN=${1:-dancu}
WORK=$(mktemp -d); trap 'pkill -TERM -f "demo --people 3000 --data-dir $WORK" || true; ip netns del dancu-lan 2>/dev/null || true; rm -rf "$WORK"' EXIT
ip netns add dancu-lan
ip link add dancu-host type veth peer name dancu-lan0
ip link set dancu-lan0 netns dancu-lan
ip addr add 10.77.0.1/24 dev dancu-host; ip link set dancu-host up
ip netns exec dancu-lan ip addr add 10.77.0.2/24 dev dancu-lan0
ip netns exec dancu-lan ip link set dancu-lan0 up; ip netns exec dancu-lan ip link set lo up

# From the other device: the login form, the POST with its CSRF field, then /search.
# Prints the status of the search page (200 when logged in, 303 back to /login otherwise).
try_login() {
  ip netns exec dancu-lan bash -c '
    base=http://10.77.0.1:8080; jar='"$WORK"'/jar; rm -f $jar
    csrf=$(curl -s -c $jar "$base/login" | grep -o "name=\"csrf\" value=\"[^\"]*\"" | sed "s/.*value=\"//;s/\"$//")
    curl -s -b $jar -c $jar -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode username=xa1 --data-urlencode password=xa1-demo-2025 "$base/login"
    curl -s -b $jar -o /dev/null -w "%{http_code}" "$base/search?q=Nguyen"'
}
serve() {
  "$BIN" demo --people 3000 --data-dir "$WORK/d" --listen 0.0.0.0:8080 "$@" > "$WORK/demo.log" 2>&1 &
  for _ in $(seq 300); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && return; sleep 0.5; done
  echo "demo did not start"; cat "$WORK/demo.log"; exit 1
}
serve
grep -q 'cookie-secure false' "$WORK/demo.log" || { echo "FAIL: no warning about Secure cookies over HTTP"; exit 1; }
[ "$(try_login)" = 303 ] || { echo "FAIL: login with Secure cookies over http:// should not stick"; exit 1; }
pkill -TERM -f "demo --people 3000 --data-dir $WORK"; sleep 2
serve --cookie-secure false
[ "$(try_login)" = 200 ] || { echo "FAIL: login from the LAN with --cookie-secure false"; exit 1; }
grep 'another device' "$WORK/demo.log"
echo "LAN trial passed: the default refuses (and warns), --cookie-secure false works"

#!/usr/bin/env python3
"""One officer clicking: GET the paths of $PATHS_FILE round robin on one keep-alive
connection for DURATION seconds, each request sent when the previous answer has been read,
and print the percentiles of the latencies seen (bench/app_queue.sh, bench/pages.sh).

Not wrk: wrk 4 corrects for coordinated omission by adding synthetic samples for every
request slower than the mean interval, as if requests kept arriving at a fixed rate. For one
person who clicks after each page has loaded, that turns one 100 ms stall into dozens of
samples: a queue answering 95 % of its requests in 0.8 ms was reported with a p95 of 43 ms.

  PATHS_FILE=paths [COOKIE=…] [TOKEN=…] bench/officer_clicks.py HOST PORT DURATION_S
"""
import http.client
import os
import sys
import time

host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
paths = [line.strip() for line in open(os.environ["PATHS_FILE"]) if line.strip()]
headers = {}
if os.environ.get("COOKIE"):
    headers["Cookie"] = os.environ["COOKIE"]
if os.environ.get("TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["TOKEN"]
conn = http.client.HTTPConnection(host, port)
latencies, not_ok, i = [], 0, 0
end = time.monotonic() + duration
while time.monotonic() < end:
    start = time.perf_counter()
    conn.request("GET", paths[i % len(paths)], headers=headers)
    answer = conn.getresponse()
    answer.read()
    latencies.append((time.perf_counter() - start) * 1000)
    not_ok += answer.status != 200
    i += 1
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]


print(f"RESULT requests={len(latencies)} p50_ms={pct(50):.2f} p95_ms={pct(95):.2f} "
      f"p99_ms={pct(99):.2f} max_ms={latencies[-1]:.2f} non200={not_ok}")

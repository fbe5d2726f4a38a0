#!/usr/bin/env python3
"""Birth chains at a fixed rate (open loop), end to end: each birth is POSTed by the
civil-status partner at its scheduled moment (t0 + i/rate, whether or not earlier answers
came back, so a slow server is not hidden by a slow client), and a feed reader with the
social-insurance partner's token long-polls GET /api/v1/partner/feed for the
`birth.registered` event of the child's personal ID. Latencies are measured from the
scheduled moment: to the answer (which carries the ID) and to the event in the feed.

  birth_chain.py BASE JUSTICE_TOKEN INSURANCE_TOKEN PARENTS_FILE RATE SECONDS RUN
PARENTS_FILE: `personal_id,sex,commune` lines (heads of households with a permanent residence).
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, tj, ti, parents_file, rate, seconds, run = sys.argv[1:8]
rate, seconds = float(rate), float(seconds)
url = urllib.parse.urlparse(base)
parents = [l.strip().split(",") for l in open(parents_file) if l.strip()]
local = threading.local()


def conn():
    if getattr(local, "c", None) is None:
        local.c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    return local.c


def request(method, path, token, body=None):
    for attempt in range(2):
        try:
            c = conn()
            headers = {"Authorization": "Bearer " + token}
            if body is not None:
                headers["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            local.c = None
            if attempt:
                raise


seen = {}
stop = threading.Event()
purpose = urllib.parse.quote("cấp thẻ bảo hiểm y tế")


def reader():
    # Start after what is already in the feed.
    after = "f1.0"
    while True:
        s, b = request("GET", f"/api/v1/partner/feed?purpose={purpose}&limit=5000&after={after}", ti)
        d = json.loads(b)
        after = d["next_cursor"]
        if not d["events"]:
            break
    ready.set()
    while not stop.is_set():
        s, b = request("GET", f"/api/v1/partner/feed?purpose={purpose}&limit=5000&wait=2&after={after}", ti)
        now = time.monotonic()
        d = json.loads(b)
        after = d["next_cursor"]
        for e in d["events"]:
            if e["kind"] == "birth.registered":
                seen.setdefault(e["personal_id"], now)


ready = threading.Event()
threading.Thread(target=reader, daemon=True).start()
ready.wait()

today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
results = []
lock = threading.Lock()


def birth(i, scheduled):
    pid, sex, commune = parents[i % len(parents)]
    who = {"father_id": pid} if sex in ("M", "male") else {"mother_id": pid}
    body = json.dumps({
        "purpose": "bench: đăng ký khai sinh liên thông",
        "registration_no": f"KS-B{run}-{i}",
        "family_name": "Nguyễn", "middle_name": "Minh", "given_name": "An",
        "sex": "Nữ" if i % 2 else "Nam", "birth_date": today, "birth_place": f"2025:{commune}",
        "household_of": pid, **who,
    }, ensure_ascii=False).encode()
    s, b = request("POST", "/api/v1/partner/births", tj, body)
    done = time.monotonic()
    d = json.loads(b) if b else {}
    with lock:
        results.append((scheduled, done, s, d.get("personal_id"), d.get("state")))


n = int(rate * seconds)
t0 = time.monotonic() + 0.2
with ThreadPoolExecutor(max_workers=128) as pool:
    for i in range(n):
        at = t0 + i / rate
        wait = at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        pool.submit(birth, i, at)
sent_for = time.monotonic() - t0
deadline = time.monotonic() + 15
while time.monotonic() < deadline and any(r[3] and r[3] not in seen for r in results):
    time.sleep(0.05)
stop.set()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


ok = [r for r in results if r[2] == 201 and r[4] == "insurance_notified"]
answer = [(r[1] - r[0]) * 1000 for r in results]
e2e = [(seen[r[3]] - r[0]) * 1000 for r in ok if r[3] in seen]
print(f"RESULT births={n} rate_target={rate:.0f}/s sent_in={sent_for:.1f}s completed={len(ok)} "
      f"in_feed={len(e2e)} failed={len(results) - len(ok)} "
      f"answer_p50_ms={pct(answer, 50):.1f} answer_p99_ms={pct(answer, 99):.1f} "
      f"e2e_p50_ms={pct(e2e, 50):.1f} e2e_p99_ms={pct(e2e, 99):.1f} e2e_max_ms={max(e2e, default=float('nan')):.1f}")

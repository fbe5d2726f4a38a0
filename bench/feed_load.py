#!/usr/bin/env python3
"""Helpers for the change-feed benchmarks (issue 15), Python 3.11 stdlib only.

  feed_load.py write BACKEND DB_URL_OR_PATH IDS_FILE RATE SECONDS
      Changes RATE citizens per second for SECONDS (open loop, a transaction every 20 ms):
      `UPDATE citizens SET other_names = …, version = version + 1, …` on stored people, so
      the outbox trigger writes one `citizen.updated` event per row in the same transaction,
      as a registry update does. BACKEND: sqlite (DB file path, Python's sqlite3) or postgres
      (URL, through one long-lived psql). Prints the rows changed and how far it fell behind.

  feed_load.py receive OUT_JSON PORT…
      Webhook receivers (one asyncio HTTP/1.1 keep-alive server per port, answering 200).
      Each delivery's lag is its arrival minus the event's `occurred_at` (set in the
      changing transaction, so the lag is measured from a moment at or before the commit).
      On SIGTERM writes a summary to OUT_JSON: deliveries, duplicates, lag percentiles.

  feed_load.py natsub NATS_HOST:PORT SUBJECT OUT_JSON
      A core NATS subscriber (raw protocol) on SUBJECT: every message JetStream stores is
      published there first. Lag = arrival − the event's `occurred_at`. Per-second counts
      and lag p99 are printed; on SIGTERM a summary goes to OUT_JSON.
"""
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def summary(lags, extra):
    out = dict(extra)
    out.update(
        count=len(lags),
        p50_ms=round(pct(lags, 0.50) * 1000, 1) if lags else None,
        p99_ms=round(pct(lags, 0.99) * 1000, 1) if lags else None,
        max_ms=round(max(lags) * 1000, 1) if lags else None,
    )
    return out


def occurred(body: bytes) -> float:
    # `"occurred_at":"2026-12-04T14:50:00.123Z"` (or +00:00): parsed without decoding the rest.
    i = body.find(b'"occurred_at":"')
    j = body.find(b'"', i + 15)
    return dt.datetime.fromisoformat(body[i + 15 : j].decode()).timestamp()


def event_id(body: bytes) -> int:
    i = body.find(b'"id":')
    j = i + 5
    while body[j : j + 1].isdigit():
        j += 1
    return int(body[i + 5 : j])


# ---------------------------------------------------------------------------------------
def write(backend, target, ids_file, rate, seconds):
    ids = [l.strip() for l in open(ids_file) if l.strip()]
    tick = 0.02
    rate, seconds = float(rate), float(seconds)
    if backend == "sqlite":
        import sqlite3

        db = sqlite3.connect(target, isolation_level=None, timeout=30)
        db.execute("PRAGMA busy_timeout = 30000")

        def run(sql, args):
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, args)
            db.execute("COMMIT")

    else:
        psql = subprocess.Popen(
            ["psql", "-qX", "-v", "ON_ERROR_STOP=1", target], stdin=subprocess.PIPE, text=True
        )

        def run(sql, args):
            parts = sql.split("?")
            quoted = ["'" + a.replace("'", "''") + "'" for a in args]
            sql = parts[0] + "".join(q + p for q, p in zip(quoted, parts[1:]))
            psql.stdin.write(sql + ";\n")
            psql.stdin.flush()

    t0 = time.time()
    done, k, worst, ticks = 0, 0, 0.0, 0
    while True:
        now = time.time()
        el = now - t0
        if el >= seconds:
            break
        due = int(el * rate) - done
        while due > 0:
            # At most 1,000 people per statement, each once (the list holds 20,000).
            batch = [ids[(k + i) % len(ids)] for i in range(min(due, 1000))]
            k += len(batch)
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            marks = ",".join("?" * len(batch))
            run(
                "UPDATE citizens SET other_names = 'fb' || CAST(version + 1 AS TEXT), version = version + 1, "
                f"updated_at = ?, updated_by = 'bench:feed', change_reason = 'feed bench' "
                f"WHERE personal_id IN ({marks})",
                [stamp] + batch,
            )
            done += len(batch)
            due -= len(batch)
            ticks += 1
        worst = max(worst, time.time() - t0 - (done / rate))
        time.sleep(max(0.0, tick - (time.time() - now)))
    if backend != "sqlite":
        psql.stdin.close()
        psql.wait()
    took = time.time() - t0
    print(json.dumps({"changed": done, "seconds": round(took, 2), "rate": round(done / took), "transactions": ticks,
                      "max_behind_s": round(worst, 3)}))


# ---------------------------------------------------------------------------------------
def receive(out, ports):
    lags, seen, dups = [], set(), [0]
    per_port = {int(p): 0 for p in ports}

    async def handle(reader, writer, port):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        n = int(line[15:])
                body = await reader.readexactly(n)
                now = time.time()
                key = (port, event_id(body))
                if key in seen:
                    dups[0] += 1
                else:
                    seen.add(key)
                    lags.append(now - occurred(body))
                    per_port[port] += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        servers = []
        for p in ports:
            p = int(p)
            servers.append(await asyncio.start_server(lambda r, w, p=p: handle(r, w, p), "127.0.0.1", p))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("receivers ready", flush=True)
        await stop.wait()

    asyncio.run(main())
    with open(out, "w") as f:
        json.dump(summary(lags, {"duplicates": dups[0], "per_subscriber": per_port}), f)


# ---------------------------------------------------------------------------------------
def natsub(addr, subject, out):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    f = s.makefile("rb", buffering=1 << 20)
    f.readline()  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"name":"feedbench"}\r\n')
    s.sendall(f"SUB {subject} 1\r\nPING\r\n".encode())
    lags, ids, dups = [], set(), 0

    class Stop(Exception):
        pass

    def on_term(*_):
        raise Stop

    signal.signal(signal.SIGTERM, on_term)
    sec, n_sec, lag_sec = int(time.time()), 0, []
    print("subscribed", flush=True)
    try:
        while True:
            line = f.readline()
            if not line:
                break
            now = time.time()
            if int(now) != sec:
                if n_sec:
                    print(f"{time.strftime('%H:%M:%S', time.gmtime(sec))} received {n_sec}/s "
                          f"lag p99 {pct(lag_sec, 0.99) * 1000:.0f} ms", flush=True)
                sec, n_sec, lag_sec = int(now), 0, []
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
                continue
            parts = line.split()
            if not parts:
                continue
            if parts[0] == b"HMSG":
                hlen, tlen = int(parts[-2]), int(parts[-1])
                body = f.read(tlen + 2)[hlen:tlen]
            elif parts[0] == b"MSG":
                body = f.read(int(parts[-1]) + 2)[:-2]
            else:
                continue
            key = (parts[1], event_id(body))
            if key in ids:
                dups += 1
                continue
            ids.add(key)
            lag = now - occurred(body)
            lags.append(lag)
            lag_sec.append(lag)
            n_sec += 1
    except Stop:
        pass
    with open(out, "w") as fo:
        json.dump(summary(lags, {"duplicates": dups}), fo)


def js_api(addr, subject):
    """One JetStream API request (`$JS.API.…`) over the raw protocol; its JSON answer."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'CONNECT {"verbose":false,"headers":true}\r\nSUB _INBOX.feedbench 1\r\n')
    s.sendall(f"PUB {subject} _INBOX.feedbench 0\r\n\r\n".encode())
    while True:
        parts = f.readline().split()
        if parts and parts[0] in (b"MSG", b"HMSG"):
            n = int(parts[-1])
            data = f.read(n + 2)[:n]
            if parts[0] == b"HMSG":
                data = data[int(parts[-2]):]
            return json.loads(data)


def stream_delete(addr, stream):
    """Deletes a JetStream stream, if there is one."""
    js_api(addr, f"$JS.API.STREAM.DELETE.{stream}")


def stream_info(addr, stream):
    """Prints a JetStream stream's state: messages, first and last sequence."""
    st = js_api(addr, f"$JS.API.STREAM.INFO.{stream}").get("state", {})
    print(json.dumps({k: st.get(k) for k in ("messages", "first_seq", "last_seq")}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "write":
        write(*args)
    elif cmd == "receive":
        receive(args[0], args[1:])
    elif cmd == "natsub":
        natsub(*args)
    elif cmd == "stream-delete":
        stream_delete(*args)
    elif cmd == "stream":
        stream_info(*args)
    else:
        sys.exit(__doc__)

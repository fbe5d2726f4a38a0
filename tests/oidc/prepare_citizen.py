"""Prepares a running `dancu demo` for tests/oidc/authlib_rp.py and prints its arguments:
a portal client registered with `dancu client add` (client_secret_basic, exact redirect URI)
and a level-2 citizen made through the officer API as an officer would: level-1
registration, approval, a card handed over if the person has none, the level-2 upgrade.

    python prepare_citizen.py BIN BASE DATABASE_URL WORK_DIR
"""

import csv
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

BIN, BASE, DB, WORK = sys.argv[1:5]
PASSWORD = "authlib-citizen-pw-1"
REDIRECT = "http://127.0.0.1:9/authlib/callback"


def call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


for _ in range(600):
    try:
        urllib.request.urlopen(BASE + "/readyz", timeout=2).read()
        break
    except Exception:  # noqa: BLE001 - not up yet
        time.sleep(0.5)
else:
    sys.exit("the server did not become ready")

status, t = call("POST", "/api/v1/auth/token", {"username": "admin", "password": "admin-demo-2025"})
assert status == 200, (status, t)
token = t["access_token"]

with open(f"{WORK}/data/demo-citizens.csv", newline="", encoding="utf-8") as f:
    rows = [r for r in csv.DictReader(f) if r["status"] == "alive" and len(r["birth_date"]) == 10 and r["birth_date"] < "2000"]

for r in rows[40:80]:
    name = " ".join(p for p in (r["family_name"], r["middle_name"], r["given_name"]) if p)
    status, reg = call("POST", "/api/v1/eid/registrations", {
        "personal_id": r["personal_id"], "full_name": name, "birth_date": r["birth_date"], "sex": r["sex"],
        "phone": "0912345678", "portrait_captured": True, "password": PASSWORD})
    if status != 201:
        continue
    pid, secret = r["personal_id"], reg["totp_secret"]
    status, v = call("POST", f"/api/v1/eid/accounts/{pid}/events", {"event": "approve"}, token)
    assert status == 200, (status, v)
    up = {"event": "upgrade_level_2", "biometrics_verified": True}
    status, v = call("POST", f"/api/v1/eid/accounts/{pid}/events", up, token)
    if status != 200:
        status, app = call("POST", "/api/v1/card-applications", {"personal_id": pid, "kind": "first_issue", "biometrics_captured": True, "reason": "cấp mới"}, token)
        if status != 201:
            continue
        for to in ("sent_to_production", "card_received", "handed_over"):
            status, app = call("POST", f"/api/v1/card-applications/{app['id']}/transitions", {"to": to, "expected_version": app["version"]}, token)
            assert status == 200, (to, status, app)
        status, v = call("POST", f"/api/v1/eid/accounts/{pid}/events", up, token)
    if status == 200 and v.get("level") == "two":
        break
else:
    sys.exit("no demo citizen could be brought to level 2")

out = subprocess.run([BIN, "client", "add", "--database-url", DB, "--name", "Cổng dịch vụ công (Authlib)",
                      "--id", "authlib-portal", "--grant", "authorization_code,refresh_token",
                      "--scope", "openid,profile,offline_access", "--redirect-uri", REDIRECT],
                     capture_output=True, text=True, check=True).stdout
secret_line = [ln for ln in out.splitlines() if ln.startswith("client_secret=")]
client_secret = secret_line[0].split("=", 1)[1]
time.sleep(3)  # the server's client cache reloads every 2 s
print(BASE, "authlib-portal", client_secret, REDIRECT, pid, PASSWORD, secret)

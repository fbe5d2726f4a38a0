"""Prepares the fuzzing gate's server (tests/fuzz/schemathesis.sh) and its settings.

    prepare.py BASE_URL DATA_DIR STATIC_CONFIG OUT_CONFIG SERVER_PID

Waits for the demo server, takes the officer token (printed on stdout), gives the server a
little state the demo lacks (eID accounts, card applications) through the API itself, and
writes the schemathesis settings: STATIC_CONFIG plus dictionaries of real personal IDs and
household numbers from the demo's CSV, offered to the matching parameters half of the time,
so that reads and writes reach stored records instead of answering 404.
"""

import csv
import json
import os
import sys
import time
import urllib.error
import urllib.request

base, data_dir, static_config, out_config, server_pid = sys.argv[1:6]


def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        base + path, method=method, headers=headers, data=None if body is None else json.dumps(body).encode()
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


for _ in range(240):
    try:
        os.kill(int(server_pid), 0)
    except OSError:
        sys.exit("the server stopped")
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2).read()
        break
    except Exception:  # noqa: BLE001 - not up yet
        time.sleep(0.5)
else:
    sys.exit("the server did not answer /healthz within 2 minutes")

status, token = call("POST", "/api/v1/auth/token", {"username": "admin", "password": "admin-demo-2025"})
if status != 200:
    sys.exit(f"no officer token: {status} {token}")
token = token["access_token"]

with open(f"{data_dir}/demo-citizens.csv", newline="", encoding="utf-8") as f:
    rows = [r for r in csv.DictReader(f) if r["status"] == "alive"]
people = [r["personal_id"] for r in rows[:80]]
households = sorted({r["household_no"] for r in rows[:200] if r["household_no"]})[:40]
units = sorted({r["permanent_unit"] for r in rows if r["permanent_unit"].startswith("2025:")})[:40]

# eID accounts, two of them approved, and card applications, one sent to production.
registered = []
for r in rows[100:106]:
    name = " ".join(p for p in (r["family_name"], r["middle_name"], r["given_name"]) if p)
    status, _ = call(
        "POST",
        "/api/v1/eid/registrations",
        {
            "personal_id": r["personal_id"],
            "full_name": name,
            "birth_date": r["birth_date"],
            "sex": r["sex"],
            "phone": r["phone"] or "0912345678",
            "portrait_captured": True,
            "password": "fuzz-gate-password",
        },
    )
    if status == 201:
        registered.append(r["personal_id"])
for pid in registered[:2]:
    call("POST", f"/api/v1/eid/accounts/{pid}/events", {"event": "approve"}, token)
for i, r in enumerate(rows[120:126]):
    status, app = call(
        "POST",
        "/api/v1/card-applications",
        {"personal_id": r["personal_id"], "kind": "first_issue", "biometrics_captured": True, "reason": "cấp mới"},
        token,
    )
    if status == 201 and i % 2 == 0:
        call(
            "POST",
            f"/api/v1/card-applications/{app['id']}/transitions",
            {"to": "sent_to_production", "expected_version": app["version"]},
            token,
        )
print(f"fuzz: prepared {len(registered)} eID accounts and card applications", file=sys.stderr)


def toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


with open(static_config, encoding="utf-8") as f:
    config = f.read()
config += f"""
# Written by prepare.py for this run: real records of the demo, offered half of the time.
[dictionaries.people]
values = {toml_list(people + registered)}

[dictionaries.households]
values = {toml_list(households)}

[dictionaries.units]
values = {toml_list(units)}

[[operations]]
include-operation-id = ["create_citizen", "update_citizen"]
parameters = {{ "body.citizen.permanent_unit" = {{ dictionary = "units", probability = 0.5 }} }}

[dictionaries.versions]
values = [1, 2, 3]

[[operations]]
include-path-regex = "^/api/v1/(citizens|eid/accounts|personal-ids)/\\\\{{id\\\\}}"
parameters = {{ "path.id" = {{ dictionary = "people", probability = 0.5 }} }}

[[operations]]
include-path-regex = "^/api/v1/households/\\\\{{number\\\\}}"
parameters = {{ "path.number" = {{ dictionary = "households", probability = 0.5 }} }}

[[operations]]
include-operation-id = ["create_card_application", "register_eid"]
parameters = {{ "body.personal_id" = {{ dictionary = "people", probability = 0.5 }} }}

[[operations]]
include-operation-id = ["move_card_application", "eid_account_event", "update_citizen"]
parameters = {{ "body.expected_version" = {{ dictionary = "versions", probability = 0.5 }} }}

[[operations]]
include-operation-id = ["create_household", "update_household"]
parameters = {{ "body.members[*].personal_id" = {{ dictionary = "people", probability = 0.5 }} }}
"""
with open(out_config, "w", encoding="utf-8") as f:
    f.write(config)
print(token)

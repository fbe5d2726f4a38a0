"""Makes N authorization codes for bench/oidc_code.sh: logs the demo's level-2 citizen in
once on the provider's pages (password + TOTP, consent), then asks the authorization
endpoint again and again with prompt=none on that session, as a portal sending many users
would; prints one `code` per line. All codes share one PKCE verifier (printed first).

    python oidc_codes.py BASE CLIENT_ID REDIRECT CITIZEN PASSWORD TOTP_SECRET N
"""
import base64, hashlib, hmac, re, struct, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
import requests

BASE, CLIENT, REDIRECT, CITIZEN, PASSWORD, TOTP, N = sys.argv[1:8]
N = int(N)
VERIFIER = base64.urlsafe_b64encode(hashlib.sha256(b"dancu-bench").digest()).rstrip(b"=").decode()
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()

def totp():
    key = base64.b32decode(TOTP + "=" * (-len(TOTP) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)

def url(prompt=None):
    q = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "scope": "openid profile",
         "state": "s", "nonce": "n", "code_challenge": CHALLENGE, "code_challenge_method": "S256", "acr_values": "loa:2"}
    if prompt:
        q["prompt"] = prompt
    return BASE + "/oauth/authorize?" + urllib.parse.urlencode(q)

def hidden(page):
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))

s = requests.Session()
r = s.get(url())
form = hidden(r.text)
form.update({"action": "login", "personal_id": CITIZEN, "password": PASSWORD, "code": totp()})
r = s.post(BASE + "/oauth/authorize", data=form, allow_redirects=False)
if r.status_code == 200 and "oidc-consent" in r.text:
    form = hidden(r.text)
    form["action"] = "consent"
    r = s.post(BASE + "/oauth/authorize", data=form, allow_redirects=False)
assert r.status_code == 303 and "code=" in r.headers["location"], (r.status_code, r.text[:500])

def one(_):
    r = s.get(url("none"), allow_redirects=False)
    return urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["location"]).query)["code"][0]

print(VERIFIER)
with ThreadPoolExecutor(4) as ex:
    for c in ex.map(one, range(N)):
        print(c)

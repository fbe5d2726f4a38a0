"""A relying party written with Authlib (a client this project did not write) against a
running dancu: discovery, code + PKCE, ID-token signature and claims, userinfo, refresh with
rotation, step-up to level 2, and the refusals of issue 13 (a wrong redirect URI, a reused
code, a wrong PKCE verifier, an expired token, a wrong audience, an unknown client).

    python authlib_rp.py BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI CITIZEN_ID PASSWORD TOTP_SECRET

tests/oidc/authlib.sh prepares the server, the clients and the citizen and runs this. The
citizen's browser is played by `requests` with a cookie jar: it reads the provider's forms
and posts them back, as a browser would, without following the final redirect to the RP.
"""

import base64
import hashlib
import hmac
import html.parser
import struct
import sys
import time
import urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError, InvalidClaimError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.common.security import generate_token

BASE, CLIENT_ID, CLIENT_SECRET, REDIRECT, CITIZEN, PASSWORD, TOTP = sys.argv[1:8]
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def totp_now(secret_b32, offset=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(time.time()) // 30 + offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


class Forms(html.parser.HTMLParser):
    """The forms of a page: action, method and the inputs with their values."""

    def __init__(self):
        super().__init__()
        self.forms, self._cur = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._cur = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}, "buttons": []}
            self.forms.append(self._cur)
        elif self._cur is not None and tag in ("input", "button") and a.get("name"):
            if tag == "button" or a.get("type") == "submit":
                self._cur["buttons"].append((a["name"], a.get("value", "")))
            elif a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._cur["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._cur = None


def forms_of(page):
    p = Forms()
    p.feed(page)
    return p.forms


class Browser:
    """The citizen's browser: a cookie jar, redirects followed by hand, forms posted back."""

    def __init__(self):
        self.s = requests.Session()

    def go(self, url, method="get", data=None):
        """Follows redirects within the provider; stops at the RP's redirect URI."""
        for _ in range(10):
            r = self.s.request(method, url, data=data, allow_redirects=False)
            if r.status_code in (301, 302, 303, 307) and "location" in r.headers:
                url = urllib.parse.urljoin(url, r.headers["location"])
                if not url.startswith(BASE):
                    return url, r
                method, data = "get", None
                continue
            return url, r
        raise RuntimeError("too many redirects")

    def submit(self, url, page, values, button=None):
        """Posts the page's form holding every named field in `values`."""
        for f in forms_of(page):
            names = set(f["fields"])
            if all(k in names for k in values) and (button is None or button in f["buttons"]):
                data = dict(f["fields"])
                data.update(values)
                if button:
                    data[button[0]] = button[1]
                elif f["buttons"]:
                    data.setdefault(*f["buttons"][0])
                return self.go(urllib.parse.urljoin(url, f["action"] or url), f["method"], data)
        raise AssertionError(f"no form with {sorted(values)} on {url}:\n{page[:2000]}")


LOGIN = {"personal_id": CITIZEN, "password": PASSWORD}


def login_and_consent(browser, auth_url):
    """Logs in (ID, password, then the TOTP code where asked) and consents; returns the
    redirect to the RP (the URL) or the last provider response."""
    url, r = browser.go(auth_url)
    for _ in range(6):
        if not url.startswith(BASE):
            return url
        page = r.text
        if r.status_code >= 400:
            return r
        names = {n for f in forms_of(page) for n in f["fields"]}
        buttons = {b for f in forms_of(page) for b in f["buttons"]}
        if ("action", "consent") in buttons:
            url, r = browser.submit(url, page, {}, ("action", "consent"))
        elif "password" in names:
            vals = dict(LOGIN)
            if "code" in names:
                vals["code"] = totp_now(TOTP)
            url, r = browser.submit(url, page, vals)
        elif "code" in names:
            url, r = browser.submit(url, page, {"code": totp_now(TOTP)})
        else:
            return r
    return r


disc = requests.get(BASE + "/.well-known/openid-configuration").json()
check(disc["issuer"] == BASE, "discovery: issuer is the server's base URL")
for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"):
    check(k in disc, f"discovery: {k}")
check("S256" in disc.get("code_challenge_methods_supported", []), "discovery: PKCE S256")
check("ES256" in disc.get("id_token_signing_alg_values_supported", []), "discovery: ES256 ID tokens")
jwks = JsonWebKey.import_key_set(requests.get(disc["jwks_uri"]).json())
jwt = JsonWebToken(["ES256"])


def session(**kw):
    opts = {
        "scope": "openid profile",
        "redirect_uri": REDIRECT,
        "code_challenge_method": "S256",
        "token_endpoint_auth_method": "client_secret_basic",
    }
    opts.update(kw)
    return OAuth2Session(CLIENT_ID, CLIENT_SECRET, **opts)


def authorize(extra=None, verifier=None):
    """A fresh authorization: returns (session, code, verifier, nonce)."""
    verifier = verifier or generate_token(48)
    nonce = generate_token(20)
    s = session()
    url, state = s.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **(extra or {}))
    back = login_and_consent(BROWSER, url)
    if not isinstance(back, str):
        return s, None, verifier, nonce, back
    q = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)
    check(q.get("state") == [state], "authorize: state comes back unchanged")
    return s, q.get("code", [None])[0], verifier, nonce, back


def id_claims(token, nonce, acr=None):
    claims = jwt.decode(
        token,
        jwks,
        claims_options={
            "iss": {"essential": True, "value": BASE},
            "aud": {"essential": True, "value": CLIENT_ID},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate(leeway=5)
    return claims


BROWSER = Browser()

# 1. Code + PKCE at level 2 (a level-2 citizen, TOTP asked), tokens, signature and claims.
s, code, verifier, nonce, back = authorize({"acr_values": "loa:2"})
check(code is not None, f"authorize: a code at level 2 ({back if code is None else 'redirected'})")
tok = s.fetch_token(disc["token_endpoint"], code=code, code_verifier=verifier)
check(tok.get("token_type", "").lower() == "bearer", "token: bearer")
claims = id_claims(tok["id_token"], nonce)
check(claims.get("acr") == "loa:2", f"ID token: acr loa:2 ({claims.get('acr')})")
check(claims["sub"] != CITIZEN and CITIZEN not in str(dict(claims)), "ID token: pairwise sub, no personal ID without its scope")
header = jwt.decode(tok["id_token"], jwks).header
check(header.get("alg") == "ES256" and "kid" in header, "ID token: ES256 with a key id")

# 2. Userinfo by scope.
ui = requests.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + tok["access_token"]})
check(ui.status_code == 200 and ui.json().get("sub") == claims["sub"], "userinfo: the same sub")
check("name" in ui.json() and "personal_id" not in ui.json(), "userinfo: profile claims, no personal ID")

# 3. A reused code is refused (and revokes what it gave).
r = requests.post(disc["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
check(r.status_code == 400 and r.json().get("error") == "invalid_grant", f"token: reused code refused ({r.status_code} {r.text[:120]})")
ui = requests.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + tok["access_token"]})
check(ui.status_code == 401, f"userinfo: tokens of a reused code revoked ({ui.status_code})")

# 4. Refresh rotates; the old refresh token is refused and revokes the family.
s, code, verifier, nonce, _ = authorize({"scope": "openid profile offline_access"})
tok = s.fetch_token(disc["token_endpoint"], code=code, code_verifier=verifier)
check("refresh_token" in tok, "token: a refresh token with offline_access")
r1 = requests.post(disc["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
check(r1.status_code == 200 and r1.json().get("refresh_token") not in (None, tok["refresh_token"]), "refresh: a new refresh token")
again = requests.post(disc["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
check(again.status_code == 400 and again.json().get("error") == "invalid_grant", "refresh: the old token refused")
newer = requests.post(disc["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "refresh_token", "refresh_token": r1.json()["refresh_token"]})
check(newer.status_code == 400, "refresh: reuse revoked the whole family")

# 5. A wrong PKCE verifier.
s, code, verifier, nonce, _ = authorize()
r = requests.post(disc["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": generate_token(48)})
check(r.status_code == 400 and r.json().get("error") == "invalid_grant", "token: wrong PKCE verifier refused")

# 6. A wrong redirect URI is never redirected to.
bad = session(redirect_uri=REDIRECT + "x")
url, _ = bad.create_authorization_url(disc["authorization_endpoint"], code_verifier=generate_token(48))
r = requests.get(url, allow_redirects=False)
check(r.status_code == 400 and "location" not in r.headers, f"authorize: wrong redirect URI gets an error page ({r.status_code})")
evil = url.replace(urllib.parse.quote(REDIRECT + "x", safe=""), urllib.parse.quote("https://evil.example/%0d%0a", safe=""))
r = requests.get(evil, allow_redirects=False)
check(r.status_code == 400 and "location" not in r.headers, "authorize: encoded control characters refused")

# 7. An unknown client.
r = requests.post(disc["token_endpoint"], auth=("no-such-client", "x"), data={"grant_type": "client_credentials"})
check(r.status_code == 401 and r.json().get("error") == "invalid_client", "token: unknown client is invalid_client")
unknown = OAuth2Session("no-such-client", redirect_uri=REDIRECT, code_challenge_method="S256")
url, _ = unknown.create_authorization_url(disc["authorization_endpoint"], code_verifier=generate_token(48))
r = requests.get(url, allow_redirects=False)
check(r.status_code == 400 and "location" not in r.headers, "authorize: unknown client gets an error page")

# 8. A wrong audience: our ID token checked as if we were another client.
s, code, verifier, nonce, _ = authorize()
tok = s.fetch_token(disc["token_endpoint"], code=code, code_verifier=verifier)
try:
    c = jwt.decode(tok["id_token"], jwks, claims_options={"aud": {"essential": True, "value": "another-portal"}})
    c.validate()
    check(False, "ID token: a wrong audience is refused")
except InvalidClaimError:
    check(True, "ID token: a wrong audience is refused")
forged = tok["id_token"][:-4] + ("AAAA" if not tok["id_token"].endswith("AAAA") else "BBBB")
try:
    jwt.decode(forged, jwks)
    check(False, "ID token: a forged signature is refused")
except BadSignatureError:
    check(True, "ID token: a forged signature is refused")
r = requests.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + forged})
check(r.status_code == 401, "userinfo: a forged token is refused")

# 9. An expired access token (the server's lifetime for this run is short).
ttl = int(tok.get("expires_in", 0))
if ttl <= 5:
    time.sleep(ttl + 2)
    r = requests.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + tok["access_token"]})
    check(r.status_code == 401 and "invalid_token" in r.headers.get("www-authenticate", ""), "userinfo: an expired token is refused")
else:
    check(False, f"the run needs short-lived tokens to test expiry (expires_in={ttl})")

# 10. prompt=none at level 2 from a level-1 session: the standard error, back at the RP.
b2 = Browser()
BROWSER_SAVE, BROWSER = BROWSER, b2
s = session()
verifier = generate_token(48)
url, state = s.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, prompt="none", acr_values="loa:2")
back, _ = b2.go(url)
q = urllib.parse.parse_qs(urllib.parse.urlparse(back).query) if isinstance(back, str) else {}
check(q.get("error", [""])[0] in ("login_required", "interaction_required"), f"authorize: prompt=none without a session answers login_required ({back})")
BROWSER = BROWSER_SAVE

print(f"authlib: {len(FAILURES)} failed", flush=True)
sys.exit(1 if FAILURES else 0)

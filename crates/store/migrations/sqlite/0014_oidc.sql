-- OpenID Connect provider and OAuth 2.0 client credentials (issue 13). Secrets, codes and
-- refresh tokens are stored only as their SHA-256 (lower-case hex): a copy of the database
-- gives none of them. Signing keys are not here: they live in a key directory.

-- Relying parties (portals) and partners (agency systems), registered by an administrator.
-- `redirect_uris`, `post_logout_redirect_uris`, `grant_types` and `scopes` are JSON arrays
-- of strings; `jwks` the client's public keys for `private_key_jwt`; `sector` keys its
-- pairwise subject identifiers.
CREATE TABLE oidc_clients (
    client_id                 TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    auth_method               TEXT NOT NULL CHECK (auth_method IN
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    secret_hash               TEXT,
    jwks                      TEXT,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    sector                    TEXT NOT NULL,
    active                    INTEGER NOT NULL,
    created_by                TEXT NOT NULL,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL
) WITHOUT ROWID;

-- A login's tokens: the family an authorization code starts. Reusing the code or an old
-- refresh token revokes the family, and with it every token issued from it.
CREATE TABLE oidc_token_families (
    family_id      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    personal_id    TEXT NOT NULL,
    scope          TEXT NOT NULL,
    acr            TEXT NOT NULL,
    auth_time      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
) WITHOUT ROWID;

-- Authorization codes: single use (`used_at`), short-lived, bound to the client, the
-- redirect URI and the PKCE challenge (S256).
CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    family_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    personal_id    TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    acr            TEXT NOT NULL,
    auth_time      TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
) WITHOUT ROWID;
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

-- Refresh tokens: each use replaces the token (`used_at` set, a new row); a used one
-- presented again revokes its family.
CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES oidc_token_families (family_id),
    expires_at TEXT NOT NULL,
    used_at    TEXT
) WITHOUT ROWID;
CREATE INDEX oidc_refresh_family ON oidc_refresh_tokens (family_id);

-- Consent remembered per citizen, client and set of scopes (sorted, space-separated).
CREATE TABLE oidc_consents (
    personal_id TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_clients (client_id),
    scope       TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (personal_id, client_id, scope)
) WITHOUT ROWID;

-- The provider's own login sessions (cookie on /oauth): who, at which level (1: password,
-- 2: password and TOTP), since when.
CREATE TABLE oidc_sessions (
    token_hash  TEXT PRIMARY KEY,
    personal_id TEXT NOT NULL,
    level       INTEGER NOT NULL,
    auth_time   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX oidc_sessions_expires ON oidc_sessions (expires_at);

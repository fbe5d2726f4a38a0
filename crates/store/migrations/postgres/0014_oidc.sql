-- OpenID Connect provider and OAuth 2.0 client credentials (issue 13). Secrets, codes and
-- refresh tokens are stored only as their SHA-256 (lower-case hex): a copy of the database
-- gives none of them. Signing keys are not here: they live in a key directory.

-- Relying parties (portals) and partners (agency systems), registered by an administrator.
-- `redirect_uris`, `post_logout_redirect_uris`, `grant_types` and `scopes` are JSON arrays
-- of strings; `jwks` the client's public keys for `private_key_jwt`; `sector` keys its
-- pairwise subject identifiers.
CREATE TABLE oidc_clients (
    client_id                 text COLLATE "C" PRIMARY KEY,
    name                      text NOT NULL,
    auth_method               text NOT NULL CHECK (auth_method IN
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    secret_hash               text,
    jwks                      text,
    redirect_uris             text NOT NULL,
    post_logout_redirect_uris text NOT NULL,
    grant_types               text NOT NULL,
    scopes                    text NOT NULL,
    sector                    text NOT NULL,
    active                    bigint NOT NULL,
    created_by                text NOT NULL,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL
);

-- A login's tokens: the family an authorization code starts. Reusing the code or an old
-- refresh token revokes the family, and with it every token issued from it.
CREATE TABLE oidc_token_families (
    family_id      text COLLATE "C" PRIMARY KEY,
    client_id      text COLLATE "C" NOT NULL REFERENCES oidc_clients (client_id),
    personal_id    text COLLATE "C" NOT NULL,
    scope          text NOT NULL,
    acr            text NOT NULL,
    auth_time      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);

-- Authorization codes: single use (`used_at`), short-lived, bound to the client, the
-- redirect URI and the PKCE challenge (S256).
CREATE TABLE oidc_codes (
    code_hash      text COLLATE "C" PRIMARY KEY,
    family_id      text COLLATE "C" NOT NULL,
    client_id      text COLLATE "C" NOT NULL REFERENCES oidc_clients (client_id),
    personal_id    text COLLATE "C" NOT NULL,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,
    nonce          text,
    acr            text NOT NULL,
    auth_time      timestamptz NOT NULL,
    code_challenge text NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

-- Refresh tokens: each use replaces the token (`used_at` set, a new row); a used one
-- presented again revokes its family.
CREATE TABLE oidc_refresh_tokens (
    token_hash text COLLATE "C" PRIMARY KEY,
    family_id  text COLLATE "C" NOT NULL REFERENCES oidc_token_families (family_id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oidc_refresh_family ON oidc_refresh_tokens (family_id);

-- Consent remembered per citizen, client and set of scopes (sorted, space-separated).
CREATE TABLE oidc_consents (
    personal_id text COLLATE "C" NOT NULL,
    client_id   text COLLATE "C" NOT NULL REFERENCES oidc_clients (client_id),
    scope       text NOT NULL,
    granted_at  timestamptz NOT NULL,
    PRIMARY KEY (personal_id, client_id, scope)
);

-- The provider's own login sessions (cookie on /oauth): who, at which level (1: password,
-- 2: password and TOTP), since when.
CREATE TABLE oidc_sessions (
    token_hash  text COLLATE "C" PRIMARY KEY,
    personal_id text COLLATE "C" NOT NULL,
    level       bigint NOT NULL,
    auth_time   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX oidc_sessions_expires ON oidc_sessions (expires_at);

-- kith schema, version 1: the account, its keys, API clients and tokens.
-- Times are Unix milliseconds everywhere.

CREATE TABLE account (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    username        TEXT    NOT NULL,
    display_name    TEXT    NOT NULL DEFAULT '',
    note_source     TEXT    NOT NULL DEFAULT '',   -- the bio as typed
    note_html       TEXT    NOT NULL DEFAULT '',   -- the bio rendered to HTML
    private_key_der BLOB    NOT NULL,              -- RSA-2048, PKCS#8 DER
    public_key_pem  TEXT    NOT NULL,              -- SubjectPublicKeyInfo PEM
    password_hash   TEXT    NOT NULL,              -- argon2id PHC string
    locked          INTEGER NOT NULL DEFAULT 0,
    discoverable    INTEGER NOT NULL DEFAULT 1,
    bot             INTEGER NOT NULL DEFAULT 0,
    fields_json     TEXT    NOT NULL DEFAULT '[]', -- [{"name":..,"value":..}]
    also_known_as   TEXT    NOT NULL DEFAULT '[]', -- JSON array of actor URLs
    moved_to        TEXT,
    avatar_path     TEXT,
    header_path     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE oauth_apps (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    website       TEXT,
    redirect_uris TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL UNIQUE,
    client_secret TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    app_id       INTEGER REFERENCES oauth_apps(id) ON DELETE CASCADE, -- NULL: made by `kith token`
    token_sha256 TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of the token; the token itself is never stored
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);


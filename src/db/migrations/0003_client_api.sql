-- kith schema, version 3: what the Mastodon client API keeps: authorization codes,
-- uploaded media, markers, lists, filters, idempotency keys and the remote media cache.

CREATE TABLE oauth_codes (
    code_sha256    TEXT    PRIMARY KEY,
    app_id         INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    code_challenge TEXT,                            -- PKCE S256 challenge, when given
    expires_at     INTEGER NOT NULL
);

-- Files the owner uploaded; attached to a post once it is published.
CREATE TABLE media (
    id          INTEGER PRIMARY KEY,                -- time-ordered, as API ids
    post_id     INTEGER REFERENCES posts(id) ON DELETE SET NULL,
    file_name   TEXT    NOT NULL,                   -- chosen by kith, under data_dir/media
    thumb_name  TEXT,
    media_type  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,                   -- image, gifv, video, audio, unknown
    description TEXT    NOT NULL DEFAULT '',
    focus_x     REAL,
    focus_y     REAL,
    blurhash    TEXT,
    width       INTEGER,
    height      INTEGER,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX media_post ON media(post_id);
ALTER TABLE attachments ADD COLUMN media_id INTEGER REFERENCES media(id) ON DELETE SET NULL;

CREATE TABLE markers (
    timeline     TEXT    PRIMARY KEY,               -- home or notifications
    last_read_id TEXT    NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE lists (
    id             INTEGER PRIMARY KEY,
    title          TEXT    NOT NULL,
    replies_policy TEXT    NOT NULL DEFAULT 'list',
    exclusive      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE TABLE list_members (
    list_id  INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors(id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, actor_id)
);

CREATE TABLE filters (
    id           INTEGER PRIMARY KEY,
    title        TEXT    NOT NULL,
    context_json TEXT    NOT NULL,                  -- ["home", "notifications", "public", "thread", "account"]
    action       TEXT    NOT NULL DEFAULT 'warn',   -- warn or hide
    expires_at   INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE TABLE filter_keywords (
    id         INTEGER PRIMARY KEY,
    filter_id  INTEGER NOT NULL REFERENCES filters(id) ON DELETE CASCADE,
    keyword    TEXT    NOT NULL,
    whole_word INTEGER NOT NULL DEFAULT 1
);

-- Idempotency-Key of status creation: the same key within a day returns the same post.
CREATE TABLE idempotency_keys (
    key        TEXT    PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Remote media (avatars, headers, attachments) fetched on first use and kept within a budget.
CREATE TABLE media_cache (
    url_sha256   TEXT    PRIMARY KEY,
    url          TEXT    NOT NULL,
    file_name    TEXT    NOT NULL,
    media_type   TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE INDEX media_cache_lru ON media_cache(last_used_at);

-- Tokens from the client_credentials grant speak for an app, not for the owner.
ALTER TABLE tokens ADD COLUMN app_only INTEGER NOT NULL DEFAULT 0;

-- Jobs in flight, counted per host on every claim of the delivery queue.
CREATE INDEX deliveries_claimed ON deliveries(host, claimed_until) WHERE claimed_until IS NOT NULL;
CREATE INDEX deliveries_created ON deliveries(created_at);

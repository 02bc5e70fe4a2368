-- kith schema, version 2: federation. Remote actors with their keys, follow
-- relationships, posts (local and remote) with what hangs off them, notifications,
-- blocks, and the two durable queues (inbox and delivery) with per-host state.

CREATE TABLE actors (
    id             INTEGER PRIMARY KEY,
    uri            TEXT    NOT NULL UNIQUE,
    username       TEXT    NOT NULL DEFAULT '',
    domain         TEXT    NOT NULL,              -- normalised host[:port] of uri
    display_name   TEXT    NOT NULL DEFAULT '',
    note_html      TEXT    NOT NULL DEFAULT '',   -- sanitised
    url            TEXT,
    inbox          TEXT    NOT NULL,
    shared_inbox   TEXT,
    outbox         TEXT,
    followers_url  TEXT,
    following_url  TEXT,
    featured_url   TEXT,
    key_id         TEXT,
    public_key_pem TEXT,
    avatar_url     TEXT,
    header_url     TEXT,
    kind           TEXT    NOT NULL DEFAULT 'Person',
    locked         INTEGER NOT NULL DEFAULT 0,
    discoverable   INTEGER NOT NULL DEFAULT 0,
    fields_json    TEXT    NOT NULL DEFAULT '[]',
    also_known_as  TEXT    NOT NULL DEFAULT '[]',
    moved_to       TEXT,
    published_at   INTEGER,
    fetched_at     INTEGER NOT NULL,
    gone_at        INTEGER                        -- answered 410 or sent Delete: never fetched again
);
CREATE INDEX actors_domain ON actors(domain);
CREATE INDEX actors_key_id ON actors(key_id);
CREATE INDEX actors_username ON actors(username, domain);

-- Accounts the owner follows (outgoing Follow).
CREATE TABLE following (
    actor_id     INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    activity_uri TEXT    NOT NULL UNIQUE,
    accepted     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Accounts that follow the owner (incoming Follow); accepted = 0 is a follow request.
CREATE TABLE followers (
    actor_id     INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    activity_uri TEXT    NOT NULL,
    accepted     INTEGER NOT NULL DEFAULT 0,
    via_move     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,           -- time-ordered (ms << 16 | sequence), as API ids
    uri             TEXT    NOT NULL UNIQUE,       -- ActivityPub id
    url             TEXT,
    actor_id        INTEGER REFERENCES actors(id) ON DELETE CASCADE, -- NULL: the local account
    kind            TEXT    NOT NULL DEFAULT 'Note',
    content_html    TEXT    NOT NULL DEFAULT '',
    source_text     TEXT,                          -- local posts: the text as typed
    spoiler_text    TEXT    NOT NULL DEFAULT '',
    sensitive       INTEGER NOT NULL DEFAULT 0,
    visibility      TEXT    NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),
    language        TEXT,
    in_reply_to_uri TEXT,
    reblog_of_id    INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    audience_json   TEXT    NOT NULL DEFAULT '[]', -- to + cc as received or sent
    published_at    INTEGER NOT NULL,
    edited_at       INTEGER,
    pinned_at       INTEGER,
    deleted_at      INTEGER                        -- local posts: a tombstone answering 410
);
CREATE INDEX posts_actor ON posts(actor_id, id);
CREATE INDEX posts_reply ON posts(in_reply_to_uri);
CREATE INDEX posts_reblog ON posts(reblog_of_id);
CREATE INDEX posts_local ON posts(id) WHERE actor_id IS NULL;

-- Earlier versions of edited posts.
CREATE TABLE post_edits (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    content_html TEXT    NOT NULL,
    spoiler_text TEXT    NOT NULL,
    sensitive    INTEGER NOT NULL,
    poll_json    TEXT,
    created_at   INTEGER NOT NULL                  -- when this version was current from
);
CREATE INDEX post_edits_post ON post_edits(post_id, id);

CREATE TABLE mentions (
    post_id   INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    actor_uri TEXT    NOT NULL,
    username  TEXT    NOT NULL DEFAULT '',
    domain    TEXT    NOT NULL DEFAULT '',
    href      TEXT,
    PRIMARY KEY (post_id, actor_uri)
);
CREATE INDEX mentions_actor ON mentions(actor_uri);

CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag     TEXT    NOT NULL,                      -- lower case, without '#'
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_tag ON post_tags(tag, post_id);

-- Attachments of remote posts (kept as references) and, later, local media.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    remote_url  TEXT,
    media_type  TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    blurhash    TEXT,
    width       INTEGER,
    height      INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX attachments_post ON attachments(post_id, position);

CREATE TABLE polls (
    post_id      INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    multiple     INTEGER NOT NULL DEFAULT 0,
    options_json TEXT    NOT NULL,                 -- [{"title": .., "votes": n}]
    voters_count INTEGER,
    expires_at   INTEGER,
    closed_at    INTEGER
);

-- Votes: the owner's on remote polls (actor_id NULL) and remote votes on local polls.
CREATE TABLE poll_votes (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    actor_id     INTEGER REFERENCES actors(id) ON DELETE CASCADE,
    choice       INTEGER NOT NULL,
    activity_uri TEXT    UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX poll_votes_once ON poll_votes(post_id, ifnull(actor_id, 0), choice);

-- Likes and boosts by anyone (actor_id NULL: the owner). A boost is also a row in posts.
CREATE TABLE favourites (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    actor_id     INTEGER REFERENCES actors(id) ON DELETE CASCADE,
    activity_uri TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX favourites_once ON favourites(post_id, ifnull(actor_id, 0));

CREATE TABLE reactions (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    actor_id     INTEGER NOT NULL REFERENCES actors(id) ON DELETE CASCADE,
    emoji        TEXT    NOT NULL,
    activity_uri TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);

CREATE TABLE bookmarks (
    post_id    INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,  -- follow, follow_request, mention, reply, favourite, reblog, reaction, report, update, move
    actor_id   INTEGER NOT NULL REFERENCES actors(id) ON DELETE CASCADE,
    post_id    INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    extra      TEXT,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_actor ON notifications(actor_id);

CREATE TABLE blocks (
    actor_id     INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    activity_uri TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE TABLE mutes (
    actor_id   INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE TABLE domain_blocks (
    domain     TEXT    PRIMARY KEY,                -- normalised host, no port
    created_at INTEGER NOT NULL
);
-- Remote actors that sent the owner a Block.
CREATE TABLE blocked_by (
    actor_id   INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    actor_id     INTEGER NOT NULL REFERENCES actors(id) ON DELETE CASCADE,
    activity_uri TEXT    UNIQUE,
    content      TEXT    NOT NULL DEFAULT '',
    objects_json TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL
);

-- Verified inbound activities waiting for the inbox worker.
CREATE TABLE inbox_queue (
    id          INTEGER PRIMARY KEY,
    activity_id TEXT    NOT NULL UNIQUE,
    signer_uri  TEXT    NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,       -- a hash of signer_uri: one worker per shard keeps each actor's order
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);

-- Ids of activities already accepted, kept 7 days so redeliveries change nothing.
CREATE TABLE seen_activities (
    activity_id TEXT    PRIMARY KEY,
    seen_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- Outbound activities: one job per target inbox, written before the first attempt.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    inbox         TEXT    NOT NULL,
    host          TEXT    NOT NULL,                -- host[:port] of inbox
    body          TEXT    NOT NULL,                -- the exact JSON bytes to send
    is_follow     INTEGER NOT NULL DEFAULT 0,      -- bypasses the unavailable-host skip
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    claimed_until INTEGER,                          -- a worker is sending it
    last_status   INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(next_at);
CREATE INDEX deliveries_host ON deliveries(host);

CREATE TABLE hosts (
    host               TEXT    PRIMARY KEY,
    failure_days       INTEGER NOT NULL DEFAULT 0, -- distinct days with failures since the last success
    last_failure_day   INTEGER,
    consecutive_fails  INTEGER NOT NULL DEFAULT 0,
    paused_until       INTEGER,
    unavailable        INTEGER NOT NULL DEFAULT 0,
    last_success_at    INTEGER
);

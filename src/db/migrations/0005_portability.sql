-- kith schema, version 6 (numbered 0006 by plan: 0004 and 0005 belong to other
-- branches): what moving in and out keeps.

-- Posts brought in by `kith import mastodon-archive`: the id they had in the archive,
-- so importing the same archive again imports nothing new, and replies inside the
-- archive can be pointed at their imported parents.
CREATE TABLE imported_posts (
    source_uri TEXT    PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX imported_posts_post ON imported_posts(post_id);

-- Boosts, likes and bookmarks from an archive whose post must be fetched before it
-- can be stored; `kith import` resolves them after the posts and retries the rest on
-- the next run.
CREATE TABLE import_refs (
    kind         TEXT    NOT NULL CHECK (kind IN ('boost', 'like', 'bookmark')),
    object_uri   TEXT    NOT NULL,
    source_uri   TEXT,                              -- the boost's own id in the archive
    published_at INTEGER NOT NULL,
    last_error   TEXT,
    done_at      INTEGER,
    PRIMARY KEY (kind, object_uri)
) WITHOUT ROWID;

-- Old accounts (aliases) seen to have moved to this one, and when kith first saw it;
-- follows arriving soon after are marked as coming with the move.
CREATE TABLE moves_in (
    old_uri TEXT    PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;

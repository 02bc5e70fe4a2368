-- kith schema: the web UI's login sessions. Only a hash of each session token is
-- kept; the token itself lives in the owner's cookie.

CREATE TABLE web_sessions (
    token_sha256 TEXT    PRIMARY KEY,
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);

-- The owner's post count (profile pages, the API's statuses_count, NodeInfo) is read
-- from this index alone instead of a scan of every post.
CREATE INDEX posts_local_counted ON posts(id)
    WHERE actor_id IS NULL AND reblog_of_id IS NULL AND deleted_at IS NULL;

-- Pinned posts (the profile page) without a scan of every post.
CREATE INDEX posts_pinned ON posts(pinned_at) WHERE pinned_at IS NOT NULL;

-- The unread count every owner page shows, without reading every notification.
CREATE INDEX notifications_unread ON notifications(id) WHERE read_at IS NULL;

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

-- Hashtag pages for visitors list the owner's public posts only. `post_tags` marks
-- the tags of those posts (a trigger sets it when the tag row is written, after its
-- post; visibility never changes after posting), so a tag that remote posts or the
-- owner's private posts use a lot does not make those pages read every use of it.
ALTER TABLE post_tags ADD COLUMN own_public INTEGER NOT NULL DEFAULT 0;
UPDATE post_tags SET own_public = 1
    WHERE post_id IN (SELECT id FROM posts WHERE actor_id IS NULL AND visibility = 'public');
CREATE TRIGGER post_tags_own_public AFTER INSERT ON post_tags
    WHEN (SELECT actor_id IS NULL AND visibility = 'public' FROM posts WHERE id = NEW.post_id)
BEGIN
    UPDATE post_tags SET own_public = 1 WHERE post_id = NEW.post_id AND tag = NEW.tag;
END;
CREATE INDEX post_tags_own_public ON post_tags(tag, post_id) WHERE own_public = 1;

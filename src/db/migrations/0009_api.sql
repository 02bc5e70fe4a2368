-- kith schema: what the rest of the Mastodon client API stores: followed and featured
-- hashtags, endorsed accounts, reports, hidden conversations, statuses named by
-- filters, and the notification policy.

-- Hashtags the owner follows: posts carrying one reach the home timeline.
CREATE TABLE followed_tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,            -- lower case, without '#'
    created_at INTEGER NOT NULL
);

-- Hashtags the owner features on the profile (the actor's `featuredTags`).
CREATE TABLE featured_tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,            -- as the owner typed it, without '#'
    created_at INTEGER NOT NULL
);

-- Accounts the owner endorses (features) on the profile.
CREATE TABLE endorsements (
    actor_id   INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Reports the owner made about other accounts (`reports` holds the Flags received);
-- `forwarded` says whether a Flag went to the account's server.
CREATE TABLE own_reports (
    id              INTEGER PRIMARY KEY,
    actor_id        INTEGER NOT NULL REFERENCES actors(id) ON DELETE CASCADE,
    status_ids_json TEXT    NOT NULL DEFAULT '[]', -- post ids
    comment         TEXT    NOT NULL DEFAULT '',
    category        TEXT    NOT NULL DEFAULT 'other',
    rule_ids_json   TEXT    NOT NULL DEFAULT '[]',
    forwarded       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

-- Direct conversations the owner removed from the conversation list (by their post).
CREATE TABLE hidden_conversations (
    post_id    INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Statuses a filter applies to, beside its keywords.
CREATE TABLE filter_statuses (
    id         INTEGER PRIMARY KEY,
    filter_id  INTEGER NOT NULL REFERENCES filters(id) ON DELETE CASCADE,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    UNIQUE (filter_id, post_id)
);

-- The notification policy (one row): for each kind of sender, accept, filter (into
-- notification requests) or drop.
CREATE TABLE notification_policy (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    for_not_following    TEXT NOT NULL DEFAULT 'accept',
    for_not_followers    TEXT NOT NULL DEFAULT 'accept',
    for_new_accounts     TEXT NOT NULL DEFAULT 'accept',
    for_private_mentions TEXT NOT NULL DEFAULT 'accept',
    for_limited_accounts TEXT NOT NULL DEFAULT 'accept'
);

-- Senders whose filtered notifications the owner accepted or dismissed as a request.
CREATE TABLE notification_requests (
    actor_id   INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,                   -- accepted or dismissed
    updated_at INTEGER NOT NULL
);
INSERT INTO notification_policy (id) VALUES (1);

-- Notifications of the same kind about the same post (likes, boosts) or follows, within
-- twelve hours of the group's first, share a group key, as Mastodon 4.3 groups them:
-- `favourite-<post>-<hour>`, `reblog-<post>-<hour>`, `follow-<hour>`. NULL: ungrouped.
ALTER TABLE notifications ADD COLUMN group_key TEXT;
UPDATE notifications SET group_key = CASE
    WHEN kind IN ('favourite', 'reaction') AND post_id IS NOT NULL
        THEN 'favourite-' || post_id || '-' || (created_at / 3600000)
    WHEN kind = 'reblog' AND post_id IS NOT NULL
        THEN 'reblog-' || post_id || '-' || (created_at / 3600000)
    WHEN kind = 'follow' THEN 'follow-' || (created_at / 3600000)
END;
CREATE INDEX notifications_group ON notifications(group_key, id) WHERE group_key IS NOT NULL;

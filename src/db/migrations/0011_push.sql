-- kith schema: Web Push for the apps (issue 14): the VAPID key pair beside the
-- account's signing key, one push subscription per access token, the push jobs of the
-- durable queue and the watermark of notifications already turned into jobs.

-- The VAPID key pair (P-256): PKCS#8 of the private key and the uncompressed public
-- point (65 bytes). Made on first use and never replaced: apps pin the public key.
ALTER TABLE account ADD COLUMN vapid_private_pkcs8 BLOB;
ALTER TABLE account ADD COLUMN vapid_public_key BLOB;

-- One Web Push subscription per access token. `access_token` is the token in clear:
-- Mastodon's payload carries it so the app knows which account a push is for; it goes
-- with the subscription when the token is revoked.
CREATE TABLE push_subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- ids never reused
    token_id     INTEGER NOT NULL UNIQUE REFERENCES tokens(id) ON DELETE CASCADE,
    access_token TEXT    NOT NULL,
    endpoint     TEXT    NOT NULL,
    p256dh       BLOB    NOT NULL,          -- the app's P-256 public key, 65 bytes
    auth         BLOB    NOT NULL,          -- the app's auth secret, 16 bytes
    standard     INTEGER NOT NULL DEFAULT 0, -- 1: RFC 8291 aes128gcm, 0: legacy aesgcm
    alerts       TEXT    NOT NULL,          -- JSON object: notification type -> bool
    policy       TEXT    NOT NULL,          -- all, followed, follower, none
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A notification to push to one subscription; the retry curve is the deliveries'.
CREATE TABLE push_jobs (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES push_subscriptions(id) ON DELETE CASCADE,
    notification_id INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (subscription_id, notification_id)
);
CREATE INDEX push_jobs_due ON push_jobs (next_at);

-- The newest notification already turned into push jobs (one row). Notifications that
-- existed before this migration are never pushed.
CREATE TABLE push_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    queued_up_to INTEGER NOT NULL
);
INSERT INTO push_state (id, queued_up_to) SELECT 1, ifnull(max(id), 0) FROM notifications;

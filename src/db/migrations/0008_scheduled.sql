-- kith schema: posts scheduled for later (Mastodon's ScheduledStatus).

-- A post written now and published at `scheduled_at` by the worker, through the same
-- path as any post; the row goes in the very transaction that publishes it, so it is
-- published once, even across a crash. `params_json` is the draft as the API's
-- `params` object shows it.
CREATE TABLE scheduled_statuses (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    scheduled_at   INTEGER NOT NULL,                -- Unix ms
    params_json    TEXT    NOT NULL,
    application_id INTEGER,                         -- the app that scheduled it, if any
    created_at     INTEGER NOT NULL
);
CREATE INDEX scheduled_statuses_due ON scheduled_statuses (scheduled_at, id);

-- The uploads a scheduled post will carry, in order. An upload belongs to one
-- scheduled post at most, and is not removed as unattached while it waits.
CREATE TABLE scheduled_media (
    scheduled_id INTEGER NOT NULL REFERENCES scheduled_statuses (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    media_id     INTEGER NOT NULL UNIQUE REFERENCES media (id) ON DELETE CASCADE,
    PRIMARY KEY (scheduled_id, position)
);

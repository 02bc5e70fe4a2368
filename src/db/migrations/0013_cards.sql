-- kith schema, version 13: link preview cards. One row per linked page, shared by
-- every post that links it; a row is queued while `due_at` is set, and a fetched
-- answer (a card, or "nothing usable") is kept until `stale_at`.

CREATE TABLE link_cards (
    url           TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    due_at        INTEGER,            -- queued for a fetch from this time; NULL when not
    stale_at      INTEGER NOT NULL,   -- the answer may be refreshed from this time
    fetched_at    INTEGER,            -- the last fetch (the per-host limit counts them)
    found         INTEGER NOT NULL DEFAULT 0,  -- 1 when the fields below hold a card
    title         TEXT    NOT NULL DEFAULT '',
    description   TEXT    NOT NULL DEFAULT '',
    image_url     TEXT,
    provider_name TEXT    NOT NULL DEFAULT '',
    author_name   TEXT    NOT NULL DEFAULT '',
    author_url    TEXT    NOT NULL DEFAULT '',
    published_at  INTEGER
);

CREATE INDEX link_cards_due ON link_cards (due_at) WHERE due_at IS NOT NULL;

-- The page whose card a post shows: the first link of the post that is neither a
-- mention nor a hashtag.
CREATE TABLE post_cards (
    post_id INTEGER PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    url     TEXT    NOT NULL
);

CREATE INDEX link_cards_by_host ON link_cards (host, fetched_at);

CREATE INDEX post_cards_by_url ON post_cards (url);

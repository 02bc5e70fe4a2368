-- kith schema: the owner's time zone for the web UI, as a fixed offset from UTC in
-- minutes (kith carries no time zone database; the owner picks the offset, and moves it
-- when their clocks change). Default UTC.
ALTER TABLE account ADD COLUMN time_offset_minutes INTEGER NOT NULL DEFAULT 0
    CHECK (time_offset_minutes BETWEEN -720 AND 840);

-- What a remote account's page shows of its size: the totalItems of its followers,
-- following and outbox collections, fetched at most once a day when the owner opens the
-- page. NULL where the server did not say.
CREATE TABLE actor_counts (
    actor_id   INTEGER PRIMARY KEY REFERENCES actors(id) ON DELETE CASCADE,
    followers  INTEGER,
    following  INTEGER,
    statuses   INTEGER,
    fetched_at INTEGER NOT NULL
);

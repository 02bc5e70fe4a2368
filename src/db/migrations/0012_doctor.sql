-- kith schema, version 12: what `kith doctor` reads about inbound federation.
-- The clock difference of each accepted delivery (its Date header against kith's
-- clock), and signature failures per signing host and day.

ALTER TABLE seen_activities ADD COLUMN skew_ms INTEGER;

CREATE TABLE signature_failures (
    host     TEXT    NOT NULL,
    day      INTEGER NOT NULL,   -- days since the Unix epoch
    failures INTEGER NOT NULL,
    PRIMARY KEY (host, day)
) WITHOUT ROWID;

-- kith schema, version 14: the backups kith took, by schedule or on demand, and how
-- each ended; the scheduler reads when the last one was tried, `kith doctor` the age
-- of the last good one.

CREATE TABLE backups (
    id          INTEGER PRIMARY KEY,
    taken_at    INTEGER NOT NULL,   -- when it started (ms)
    destination TEXT    NOT NULL,   -- "s3:PREFIX" or the folder
    name        TEXT    NOT NULL,   -- the file or object name
    bytes       INTEGER NOT NULL DEFAULT 0,
    error       TEXT                -- NULL when it succeeded
);

CREATE INDEX backups_taken ON backups (taken_at);

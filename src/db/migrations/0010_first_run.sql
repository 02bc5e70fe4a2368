-- kith schema: the owner's time zone for the web UI, as a fixed offset from UTC in
-- minutes (kith carries no time zone database; the owner picks the offset, and moves it
-- when their clocks change). Default UTC.
ALTER TABLE account ADD COLUMN time_offset_minutes INTEGER NOT NULL DEFAULT 0
    CHECK (time_offset_minutes BETWEEN -720 AND 840);

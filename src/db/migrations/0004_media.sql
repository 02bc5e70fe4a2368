-- Schema v4: media processing. Each file kith serves is found by its name with the
-- media type kith recorded for it (never guessed from the name): the original's in
-- `media_type`, the thumbnail's in `thumb_media_type`. Profile images (avatar,
-- header) are rows too, kept while the account uses them.

ALTER TABLE media ADD COLUMN thumb_media_type TEXT;
ALTER TABLE media ADD COLUMN purpose TEXT NOT NULL DEFAULT 'attachment';  -- attachment, avatar, header
CREATE UNIQUE INDEX media_file_name ON media(file_name);
CREATE UNIQUE INDEX media_thumb_name ON media(thumb_name);
CREATE UNIQUE INDEX media_cache_file_name ON media_cache(file_name);

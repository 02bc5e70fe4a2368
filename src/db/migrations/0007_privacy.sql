-- kith schema: activity ids remembered per signing host, and authorization codes
-- remembered after use.

-- An activity id belongs to its server: the inbox refuses one on another host than its
-- signer's, and the ids it has seen are keyed by the signer's host too, so no actor can
-- take another server's ids (SECURITY.md 58). Ids seen so far keep the host they name.
CREATE TABLE seen_activities_by_host (
    signer_host TEXT    NOT NULL,                   -- host[:port] of the signer's actor id
    activity_id TEXT    NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (signer_host, activity_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO seen_activities_by_host (signer_host, activity_id, seen_at)
SELECT lower(substr(rest, 1, stop - 1)), activity_id, seen_at FROM (
    SELECT activity_id, seen_at, rest, min(
        CASE instr(rest, '/') WHEN 0 THEN length(rest) + 1 ELSE instr(rest, '/') END,
        CASE instr(rest, '#') WHEN 0 THEN length(rest) + 1 ELSE instr(rest, '#') END,
        CASE instr(rest, '?') WHEN 0 THEN length(rest) + 1 ELSE instr(rest, '?') END
    ) AS stop
    FROM (SELECT activity_id, seen_at, substr(activity_id, instr(activity_id, '://') + 3) AS rest
          FROM seen_activities)
);
DROP TABLE seen_activities;
ALTER TABLE seen_activities_by_host RENAME TO seen_activities;

-- A redeemed authorization code is kept until a day past its expiry, with the token
-- it gave, so that a replay revokes that token (RFC 6749 §4.1.2, SECURITY.md 59); and
-- whether the authorization request named its redirect_uri, which the token request
-- must then repeat (SECURITY.md 60). Codes issued before this have no such promise.
ALTER TABLE oauth_codes ADD COLUMN used_at INTEGER;
ALTER TABLE oauth_codes ADD COLUMN token_id INTEGER;
ALTER TABLE oauth_codes ADD COLUMN redirect_given INTEGER NOT NULL DEFAULT 0;

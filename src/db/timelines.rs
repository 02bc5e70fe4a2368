//! Timeline queries: home, public (local or remote), hashtag, one account's posts,
//! bookmarks, favourites and lists, all paged by id with `max_id`, `since_id` and
//! `min_id` as Mastodon pages them. Direct posts never appear in public timelines.

use crate::db::posts::{Post, from_row};
use crate::error::Result;
use rusqlite::{Connection, params_from_iter, types::Value as Sql};

/// A page request: ids are exclusive bounds; `min_id` pages forward from the oldest side.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Page {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

/// Which posts a timeline shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeline {
    /// The owner's posts and boosts, posts of followed accounts, posts mentioning the
    /// owner, and public or unlisted posts carrying a hashtag the owner follows.
    Home,
    /// Public posts; `Some(true)` local only, `Some(false)` remote only.
    Public(Option<bool>),
    /// Public posts with this hashtag.
    Tag(String),
    /// One account's posts (None: the owner's); `with_private` includes followers-only.
    Account {
        actor_id: Option<i64>,
        with_private: bool,
        exclude_replies: bool,
        only_media: bool,
        pinned: bool,
    },
    /// Posts the owner bookmarked.
    Bookmarks,
    /// Posts the owner liked.
    Favourites,
    /// Posts of the members of a list.
    List(i64),
    /// Direct posts to or from the owner.
    Direct,
}

fn condition(t: &Timeline, args: &mut Vec<Sql>) -> String {
    match t {
        Timeline::Home => "(p.actor_id IS NULL
              OR p.actor_id IN (SELECT actor_id FROM following WHERE accepted = 1)
              OR EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = p.id AND m.actor_uri = ?)
              OR (p.visibility IN ('public', 'unlisted') AND EXISTS (
                    SELECT 1 FROM post_tags t JOIN followed_tags f ON f.name = t.tag WHERE t.post_id = p.id)))"
            .into(),
        Timeline::Public(local) => {
            let origin = match local {
                Some(true) => " AND p.actor_id IS NULL",
                Some(false) => " AND p.actor_id IS NOT NULL",
                None => "",
            };
            format!("p.visibility = 'public' AND p.reblog_of_id IS NULL{origin}")
        }
        Timeline::Tag(tag) => {
            args.push(Sql::Text(tag.to_lowercase()));
            "p.visibility = 'public' AND p.id IN (SELECT post_id FROM post_tags WHERE tag = ?)"
                .into()
        }
        Timeline::Account {
            actor_id,
            with_private,
            exclude_replies,
            only_media,
            pinned,
        } => {
            let mut c = match actor_id {
                Some(id) => {
                    args.push(Sql::Integer(*id));
                    "p.actor_id = ?".to_string()
                }
                None => "p.actor_id IS NULL".to_string(),
            };
            c.push_str(if *with_private {
                " AND p.visibility != 'direct'"
            } else {
                " AND p.visibility IN ('public', 'unlisted')"
            });
            if *exclude_replies {
                c.push_str(" AND p.in_reply_to_uri IS NULL");
            }
            if *only_media {
                c.push_str(" AND EXISTS (SELECT 1 FROM attachments a WHERE a.post_id = p.id)");
            }
            if *pinned {
                c.push_str(" AND p.pinned_at IS NOT NULL");
            }
            c
        }
        Timeline::Bookmarks => "p.id IN (SELECT post_id FROM bookmarks)".into(),
        Timeline::Favourites => {
            "p.id IN (SELECT post_id FROM favourites WHERE actor_id IS NULL)".into()
        }
        Timeline::List(id) => {
            args.push(Sql::Integer(*id));
            "p.actor_id IN (SELECT actor_id FROM list_members WHERE list_id = ?) AND p.visibility != 'direct'".into()
        }
        Timeline::Direct => "p.visibility = 'direct' AND p.reblog_of_id IS NULL".into(),
    }
}

/// One page of a timeline, newest first. `me` is the owner's actor URL (for mentions).
pub fn list(conn: &Connection, t: &Timeline, page: Page, me: &str) -> Result<Vec<Post>> {
    let mut args: Vec<Sql> = Vec::new();
    if matches!(t, Timeline::Home) {
        args.push(Sql::Text(me.to_string()));
    }
    let cond = condition(t, &mut args);
    let mut sql = format!(
        "SELECT p.id, p.uri, p.url, p.actor_id, p.kind, p.content_html, p.source_text, p.spoiler_text, p.sensitive,
            p.visibility, p.language, p.in_reply_to_uri, p.reblog_of_id, p.audience_json, p.published_at, p.edited_at,
            p.pinned_at, p.deleted_at
         FROM posts p WHERE p.deleted_at IS NULL AND ({cond})
           AND (p.actor_id IS NULL OR p.actor_id NOT IN (SELECT actor_id FROM blocks UNION SELECT actor_id FROM mutes))"
    );
    for (bound, op) in [(page.max_id, "<"), (page.since_id, ">"), (page.min_id, ">")] {
        if let Some(v) = bound {
            sql.push_str(&format!(" AND p.id {op} ?"));
            args.push(Sql::Integer(v));
        }
    }
    let ascending = page.min_id.is_some() && page.max_id.is_none();
    sql.push_str(if ascending {
        " ORDER BY p.id ASC LIMIT ?"
    } else {
        " ORDER BY p.id DESC LIMIT ?"
    });
    args.push(Sql::Integer(page.limit));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), from_row)?;
    let mut posts = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if ascending {
        posts.reverse();
    }
    Ok(posts)
}

/// Replies to a post that are stored, oldest first (for thread contexts).
pub fn replies(conn: &Connection, uri: &str, limit: i64) -> Result<Vec<Post>> {
    let sql = "SELECT id, uri, url, actor_id, kind, content_html, source_text, spoiler_text, sensitive, visibility, language,
        in_reply_to_uri, reblog_of_id, audience_json, published_at, edited_at, pinned_at, deleted_at
        FROM posts WHERE in_reply_to_uri = ?1 AND deleted_at IS NULL ORDER BY id LIMIT ?2";
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params![uri, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors, posts};

    fn add(conn: &Connection, id: i64, actor: Option<i64>, visibility: &str) {
        let mut p = posts::sample(id, &format!("https://x.example/s/{id}"));
        p.actor_id = actor;
        p.visibility = visibility.into();
        posts::insert(conn, &p, &posts::Parts::default()).unwrap();
    }

    #[test]
    fn paging_and_visibility() {
        let conn = Db::open_in_memory().unwrap();
        let bob = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        for id in 1..=5 {
            add(&conn, id, None, "public");
        }
        add(&conn, 6, None, "direct");
        add(&conn, 7, Some(bob), "public");
        let page = |max, since, min, limit| Page {
            max_id: max,
            since_id: since,
            min_id: min,
            limit,
        };
        let ids = |v: Vec<Post>| v.iter().map(|p| p.id).collect::<Vec<_>>();
        let public = Timeline::Public(None);
        assert_eq!(
            ids(list(&conn, &public, page(None, None, None, 3), "me").unwrap()),
            vec![7, 5, 4]
        );
        assert_eq!(
            ids(list(&conn, &public, page(Some(4), None, None, 10), "me").unwrap()),
            vec![3, 2, 1]
        );
        assert_eq!(
            ids(list(&conn, &public, page(None, None, Some(2), 2), "me").unwrap()),
            vec![4, 3]
        );
        assert_eq!(
            ids(list(&conn, &public, page(None, Some(4), None, 10), "me").unwrap()),
            vec![7, 5]
        );
        assert_eq!(
            ids(list(
                &conn,
                &Timeline::Public(Some(true)),
                page(None, None, None, 10),
                "me"
            )
            .unwrap()),
            vec![5, 4, 3, 2, 1]
        );
        // The direct post shows only in the home and direct timelines.
        assert!(
            ids(list(&conn, &Timeline::Home, page(None, None, None, 10), "me").unwrap())
                .contains(&6)
        );
        assert_eq!(
            ids(list(&conn, &Timeline::Direct, page(None, None, None, 10), "me").unwrap()),
            vec![6]
        );
        // Bob is not followed: not in home.
        assert!(
            !ids(list(&conn, &Timeline::Home, page(None, None, None, 10), "me").unwrap())
                .contains(&7)
        );
        conn.execute("INSERT INTO following (actor_id, activity_uri, accepted, created_at) VALUES (?1, 'f', 1, 0)", [bob]).unwrap();
        assert!(
            ids(list(&conn, &Timeline::Home, page(None, None, None, 10), "me").unwrap())
                .contains(&7)
        );
        conn.execute(
            "INSERT INTO mutes (actor_id, created_at) VALUES (?1, 0)",
            [bob],
        )
        .unwrap();
        assert!(
            !ids(list(&conn, &Timeline::Home, page(None, None, None, 10), "me").unwrap())
                .contains(&7)
        );
    }
}

//! Retention: remote posts older than `[retention] remote_posts_days` that the owner
//! never touched go, with their cached media and the actors nothing refers to any
//! more; old notifications go; everything the owner wrote, touched or talks in stays.
//! The data is written straight into a real instance's database with old ids, then
//! `process::retention::run` runs once.

use crate::support::{Instance, get};
use kith::db::actors::RemoteActor;
use kith::db::posts::{self, Mention, Parts, Post};
use kith::db::{self, favourites, follows, notifications};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// Stores a remote actor fetched `age` ms ago.
fn actor(k: &Instance, name: &str, age: i64) -> RemoteActor {
    let now = db::now_ms();
    let mut a = RemoteActor {
        uri: format!("https://remote.example/users/{name}"),
        username: name.into(),
        domain: "remote.example".into(),
        inbox: format!("https://remote.example/users/{name}/inbox"),
        kind: "Person".into(),
        fields_json: "[]".into(),
        also_known_as: "[]".into(),
        fetched_at: now - age,
        ..RemoteActor::default()
    };
    a.id = k.ctx().db.write(|tx| db::actors::upsert(tx, &a)).unwrap();
    a
}

/// Stores a post by `author` (None: the owner) published `age` ms ago.
fn post(
    k: &Instance,
    author: Option<&RemoteActor>,
    slug: &str,
    age: i64,
    tweak: impl FnOnce(&mut Post, &mut Parts),
) -> Post {
    let at = db::now_ms() - age;
    let uri = match author {
        Some(a) => format!("{}/statuses/{slug}", a.uri),
        None => format!("{}/statuses/{slug}", k.actor()),
    };
    // An id of that time, without touching the process's id clock.
    static SEQ: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let id = kith::ids::floor(at) + SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut p = Post {
        id,
        uri,
        actor_id: author.map(|a| a.id),
        content_html: format!("<p>{slug}</p>"),
        visibility: "public".into(),
        audience_json: "[]".into(),
        published_at: at,
        ..Post::default()
    };
    let mut parts = Parts::default();
    tweak(&mut p, &mut parts);
    k.ctx()
        .db
        .write(|tx| posts::insert(tx, &p, &parts))
        .unwrap();
    p
}

fn exists(k: &Instance, p: &Post) -> bool {
    k.read(|c| posts::find(c, p.id)).is_some()
}

#[test]
fn retention_removes_exactly_what_nobody_needs() {
    let k = Instance::start(
        "owner",
        "[retention]\nremote_posts_days = 90\nnotifications_days = 180\n",
    );
    let old = 100 * DAY;
    let ann = actor(&k, "ann", old);
    let bea = actor(&k, "bea", old);
    let followed = actor(&k, "followed", old);
    k.ctx()
        .db
        .write(|tx| follows::upsert(tx, true, followed.id, "https://x/f", true, db::now_ms()))
        .unwrap();

    // Removed: old and untouched (its author, bea, is then referred to by nothing).
    let gone = post(&k, Some(&bea), "gone", old, |_, parts| {
        parts.attachments.push(posts::Attachment {
            remote_url: Some("https://remote.example/files/gone.png".into()),
            media_type: "image/png".into(),
            ..Default::default()
        });
    });
    let gone_too = post(&k, Some(&followed), "gone-too", old, |_, _| {});
    // Its picture sits in the media cache.
    let cache = k.ctx().storage.local_dir(kith::storage::Area::Cache);
    let file_name = k
        .ctx()
        .storage
        .write_new(
            kith::storage::Area::Cache,
            b"not really a png",
            "png",
            "image/png",
        )
        .unwrap();
    let url = "https://remote.example/files/gone.png";
    let cached = db::media::Cached {
        url_sha256: kith::keys::sha256_hex(url.as_bytes()),
        url: url.into(),
        file_name: file_name.clone(),
        media_type: "image/png".into(),
        size: 16,
        last_used_at: db::now_ms(),
    };
    k.ctx()
        .db
        .write(|tx| db::media::insert_cached(tx, &cached))
        .unwrap();
    // Kept: recent.
    let recent = post(&k, Some(&ann), "recent", 10 * DAY, |_, _| {});
    // Kept: each thing the owner did or that involves the owner.
    let liked = post(&k, Some(&ann), "liked", old, |_, _| {});
    let bookmarked = post(&k, Some(&ann), "bookmarked", old, |_, _| {});
    let boosted = post(&k, Some(&ann), "boosted", old, |_, _| {});
    let grandparent = post(&k, Some(&ann), "grandparent", old, |_, _| {});
    let parent = post(&k, Some(&ann), "parent", old, |p, _| {
        p.in_reply_to_uri = Some(grandparent.uri.clone())
    });
    let mine = post(&k, None, "mine", old, |p, _| {
        p.in_reply_to_uri = Some(parent.uri.clone())
    });
    let reply = post(&k, Some(&ann), "reply", old, |p, _| {
        p.in_reply_to_uri = Some(mine.uri.clone())
    });
    let reply_to_reply = post(&k, Some(&ann), "reply-to-reply", old, |p, _| {
        p.in_reply_to_uri = Some(reply.uri.clone())
    });
    let mentioning = post(&k, Some(&ann), "mentioning", old, |_, parts| {
        parts.mentions.push(Mention {
            actor_uri: k.actor(),
            username: "owner".into(),
            domain: "localhost".into(),
            href: None,
        })
    });
    let notified = post(&k, Some(&ann), "notified", old, |_, _| {});
    let boosted_lately = post(&k, Some(&ann), "boosted-lately", old, |_, _| {});
    let now = db::now_ms();
    k.ctx()
        .db
        .write(|tx| {
            favourites::insert(tx, liked.id, None, "https://x/like", now)?;
            posts::set_bookmarked(tx, bookmarked.id, true, now)?;
            notifications::insert(tx, "mention", ann.id, Some(notified.id), None, now)?;
            Ok(())
        })
        .unwrap();
    let own_boost = post(&k, None, "own-boost", 5 * DAY, |p, _| {
        p.kind = "Announce".into();
        p.reblog_of_id = Some(boosted.id);
    });
    let their_boost = post(&k, Some(&followed), "their-boost", DAY, |p, _| {
        p.kind = "Announce".into();
        p.reblog_of_id = Some(boosted_lately.id);
    });
    // Notifications: one old, one recent.
    let old_note = k
        .ctx()
        .db
        .write(|tx| {
            notifications::insert(
                tx,
                "favourite",
                ann.id,
                Some(mine.id),
                None,
                now - 200 * DAY,
            )
        })
        .unwrap();
    let new_note = k
        .ctx()
        .db
        .write(|tx| notifications::insert(tx, "reblog", ann.id, Some(mine.id), None, now))
        .unwrap();

    let removed = kith::process::retention::run(k.ctx(), db::now_ms()).unwrap();
    assert_eq!(removed.posts, 2, "{removed:?}");
    assert!(!exists(&k, &gone) && !exists(&k, &gone_too));
    assert_eq!(removed.cached_files, 1, "{removed:?}");
    assert!(
        !cache.join(&file_name).exists(),
        "the cached picture went too"
    );
    for kept in [
        &recent,
        &liked,
        &bookmarked,
        &boosted,
        &grandparent,
        &parent,
        &mine,
        &reply,
        &reply_to_reply,
        &mentioning,
        &notified,
        &boosted_lately,
        &own_boost,
        &their_boost,
    ] {
        assert!(exists(&k, kept), "{} was removed", kept.uri);
    }
    // Bea is referred to by nothing now; the followed account stays.
    assert_eq!(removed.actors, 1, "{removed:?}");
    assert!(k.read(|c| db::actors::find_by_uri(c, &bea.uri)).is_none());
    assert!(
        k.read(|c| db::actors::find_by_uri(c, &followed.uri))
            .is_some()
    );
    assert!(k.read(|c| db::actors::find_by_uri(c, &ann.uri)).is_some());
    // The old notification went; the recent one stayed.
    assert_eq!(removed.notifications, 1, "{removed:?}");
    let left: Vec<i64> = k
        .read(|c| notifications::list(c, None, None, None, 100))
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert!(
        left.contains(&new_note) && !left.contains(&old_note),
        "{left:?}"
    );
    // A second run finds nothing more.
    let again = kith::process::retention::run(k.ctx(), db::now_ms()).unwrap();
    assert_eq!(again, kith::process::retention::Removed::default());
    // The pages that list posts still answer.
    assert_eq!(get(&format!("{}/@owner", k.base()), &[]).status, 200);
}

#[test]
fn retention_zero_keeps_everything() {
    let k = Instance::start(
        "owner",
        "[retention]\nremote_posts_days = 0\nnotifications_days = 0\n",
    );
    let ann = actor(&k, "ann", 1000 * DAY);
    let ancient = post(&k, Some(&ann), "ancient", 1000 * DAY, |_, _| {});
    let removed = kith::process::retention::run(k.ctx(), db::now_ms()).unwrap();
    assert_eq!(removed, kith::process::retention::Removed::default());
    assert!(exists(&k, &ancient));
}

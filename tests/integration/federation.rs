//! Two real kith instances on loopback ports federating with each other: follows,
//! posts, replies, mentions, likes, boosts, edits, deletes, blocks and follow requests,
//! each checked through the other side's database. `settle` drains both instances'
//! queues instead of sleeping.

use crate::support::Instance;
use kith::db::{favourites, follows, notifications, posts};
use kith::process::{self, Draft};
use std::time::Duration;

/// Waits until both instances have nothing left to do.
pub fn settle(a: &Instance, b: &Instance) {
    assert!(
        kith::workers::settle(&[a.ctx(), b.ctx()], Duration::from_secs(30)),
        "queues did not drain"
    );
}

fn draft(text: &str, visibility: &str) -> Draft {
    Draft {
        text: text.into(),
        visibility: visibility.into(),
        ..Draft::default()
    }
}

fn kinds(inst: &Instance) -> Vec<String> {
    inst.read(|c| notifications::list(c, None, None, None, 100))
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

/// Two instances, b following a (accepted).
fn followed_pair() -> (Instance, Instance) {
    let a = Instance::start("alice", "");
    let b = Instance::start("bob", "");
    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    (a, b)
}

#[test]
fn follow_is_accepted_and_visible_on_both_sides() {
    let (a, b) = followed_pair();
    let bob_at_a = a.remote(&b);
    let f = a
        .read(|c| follows::find(c, false, bob_at_a.id))
        .expect("a has a follower");
    assert!(f.accepted);
    let alice_at_b = b.remote(&a);
    assert!(
        b.read(|c| follows::find(c, true, alice_at_b.id))
            .unwrap()
            .accepted,
        "b saw the Accept"
    );
    assert_eq!(kinds(&a), vec!["follow"]);
    assert_eq!(a.read(follows::counts), (1, 0));
    assert_eq!(b.read(follows::counts), (0, 1));
}

#[test]
fn follow_by_handle_through_webfinger() {
    let a = Instance::start("alice", "");
    let b = Instance::start("bob", "");
    process::follow(b.ctx(), &format!("@alice@localhost:{}", a.port)).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(follows::counts), (1, 0));
}

#[test]
fn posts_replies_and_mentions_arrive() {
    let (a, b) = followed_pair();
    let post =
        process::create_post(a.ctx(), &draft("Hello #fediverse from alice", "public")).unwrap();
    settle(&a, &b);
    let copy = b.copy_of(&a, &post).expect("b stored a's post");
    assert!(copy.content_html.contains("Hello"));
    assert_eq!(copy.visibility, "public");
    assert_eq!(
        b.read(|c| posts::list_tags(c, copy.id)),
        vec!["fediverse".to_string()]
    );

    // b replies, mentioning a by handle: a gets the reply and a mention notification.
    let reply = Draft {
        in_reply_to_id: Some(copy.id),
        ..draft(&format!("@alice@localhost:{} nice!", a.port), "public")
    };
    let reply = process::create_post(b.ctx(), &reply).unwrap();
    settle(&a, &b);
    let at_a = a.copy_of(&b, &reply).expect("a stored the reply");
    assert_eq!(at_a.in_reply_to_uri.as_deref(), Some(post.uri.as_str()));
    assert!(kinds(&a).contains(&"mention".to_string()));

    // A direct message reaches only the addressee and stays direct.
    let dm = process::create_post(
        a.ctx(),
        &draft(&format!("@bob@localhost:{} psst", b.port), "direct"),
    )
    .unwrap();
    settle(&a, &b);
    let dm_at_b = b.copy_of(&a, &dm).expect("b got the DM");
    assert_eq!(dm_at_b.visibility, "direct");
}

#[test]
fn likes_and_boosts_are_counted_and_undone() {
    let (a, b) = followed_pair();
    let post = process::create_post(a.ctx(), &draft("like me", "public")).unwrap();
    settle(&a, &b);
    let copy = b.copy_of(&a, &post).unwrap();
    process::like(b.ctx(), copy.id).unwrap();
    process::boost(b.ctx(), copy.id).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(|c| favourites::count(c, post.id)), 1);
    let bob = a.remote(&b);
    assert!(
        a.read(|c| posts::find_reblog(c, Some(bob.id), post.id))
            .is_some()
    );
    let k = kinds(&a);
    assert!(
        k.contains(&"favourite".to_string()) && k.contains(&"reblog".to_string()),
        "{k:?}"
    );

    process::unlike(b.ctx(), copy.id).unwrap();
    process::unboost(b.ctx(), copy.id).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(|c| favourites::count(c, post.id)), 0);
    assert!(
        a.read(|c| posts::find_reblog(c, Some(bob.id), post.id))
            .is_none()
    );
}

/// A boost served at its own URL is the very activity that was delivered: addressed
/// to everyone, copied to the original author and the booster's followers.
#[test]
fn a_served_boost_is_addressed_as_the_delivered_one() {
    let (a, b) = followed_pair();
    let post = process::create_post(a.ctx(), &draft("boost me", "public")).unwrap();
    settle(&a, &b);
    let copy = b.copy_of(&a, &post).unwrap();
    let boost = process::boost(b.ctx(), copy.id).unwrap();
    settle(&a, &b);
    let served = crate::support::get(&boost.uri, &[("Accept", "application/activity+json")]);
    assert_eq!(served.status, 200, "{}", served.body);
    let doc = served.json();
    assert_eq!(doc["type"], "Announce");
    assert_eq!(doc["object"], post.uri.as_str());
    assert_eq!(doc["to"], serde_json::json!([kith::ap::PUBLIC]));
    let cc = doc["cc"].as_array().expect("cc is a list");
    assert!(cc.iter().any(|v| v == a.actor().as_str()), "{cc:?}");
    assert!(
        cc.iter().any(|v| *v == format!("{}/followers", b.actor())),
        "{cc:?}"
    );
}

#[test]
fn edits_and_deletes_reach_followers() {
    let (a, b) = followed_pair();
    let post = process::create_post(a.ctx(), &draft("first version", "public")).unwrap();
    settle(&a, &b);
    process::edit_post(a.ctx(), post.id, &draft("second version", "public")).unwrap();
    settle(&a, &b);
    let copy = b.copy_of(&a, &post).unwrap();
    assert!(
        copy.content_html.contains("second version"),
        "{}",
        copy.content_html
    );
    assert!(copy.edited_at.is_some());
    // ActivityPub dates carry whole seconds.
    assert_eq!(
        copy.published_at / 1000,
        post.published_at / 1000,
        "published never moves"
    );
    assert!(kinds(&b).contains(&"update".to_string()));

    process::delete_post(a.ctx(), post.id).unwrap();
    settle(&a, &b);
    assert!(b.copy_of(&a, &post).is_none(), "b removed the deleted post");
    // a keeps a tombstone that answers 410.
    let r = crate::support::get(
        &format!(
            "http://127.0.0.1:{}/users/alice/statuses/{}",
            a.port, post.id
        ),
        &[("Accept", "application/activity+json")],
    );
    assert_eq!(r.status, 410);
    assert_eq!(r.json()["type"], "Tombstone");
}

#[test]
fn unfollow_and_block() {
    let (a, b) = followed_pair();
    process::unfollow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(follows::counts), (0, 0), "the Undo(Follow) arrived");

    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(follows::counts), (1, 0));
    let bob = a.remote(&b);
    process::block(a.ctx(), bob.id).unwrap();
    settle(&a, &b);
    assert_eq!(a.read(follows::counts), (0, 0));
    let alice_at_b = b.remote(&a);
    assert!(
        b.read(|c| kith::db::blocks::is_blocked_by(c, alice_at_b.id)),
        "b knows it is blocked"
    );
    assert!(b.read(|c| follows::find(c, true, alice_at_b.id)).is_none());
    // A blocked account's new posts do not reach a.
    process::follow(b.ctx(), &a.actor()).unwrap_or_else(|_| alice_at_b.clone());
    let p = process::create_post(
        b.ctx(),
        &draft(&format!("@alice@localhost:{} hi", a.port), "public"),
    )
    .unwrap();
    settle(&a, &b);
    assert!(a.copy_of(&b, &p).is_none());
}

#[test]
fn locked_account_gets_a_follow_request() {
    let a = Instance::start("alice", "");
    let b = Instance::start("bob", "");
    a.ctx()
        .db
        .write(|tx| Ok(tx.execute("UPDATE account SET locked = 1", [])?))
        .unwrap();
    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let bob = a.remote(&b);
    assert!(
        !a.read(|c| follows::find(c, false, bob.id))
            .unwrap()
            .accepted
    );
    assert_eq!(kinds(&a), vec!["follow_request"]);
    let alice_at_b = b.remote(&a);
    assert!(
        !b.read(|c| follows::find(c, true, alice_at_b.id))
            .unwrap()
            .accepted
    );

    process::accept_follow_request(a.ctx(), bob.id).unwrap();
    settle(&a, &b);
    assert!(
        b.read(|c| follows::find(c, true, alice_at_b.id))
            .unwrap()
            .accepted
    );
    // Followers-only posts now reach b.
    let p = process::create_post(a.ctx(), &draft("for followers", "private")).unwrap();
    settle(&a, &b);
    assert_eq!(b.copy_of(&a, &p).unwrap().visibility, "private");
}

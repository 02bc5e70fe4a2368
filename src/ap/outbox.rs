//! Pure builders of the activities kith sends and the objects it serves: `build_*`
//! functions take plain values and return JSON; they do no I/O.

use crate::ap::{PUBLIC, context};
use crate::config::Config;
use serde_json::{Value, json};

/// Addressing of an outgoing post: `to` and `cc` lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// The `to`/`cc` of a post with this visibility and these mentioned actors, as Mastodon addresses them.
pub fn audience(config: &Config, visibility: &str, mentioned: &[String]) -> Audience {
    let followers = format!("{}/followers", config.actor_url());
    let mut to = Vec::new();
    let mut cc = Vec::new();
    match visibility {
        "public" => {
            to.push(PUBLIC.to_string());
            cc.push(followers);
        }
        "unlisted" => {
            to.push(followers);
            cc.push(PUBLIC.to_string());
        }
        "private" => to.push(followers),
        _ => {}
    }
    for m in mentioned {
        if visibility == "direct" {
            to.push(m.clone());
        } else if !cc.contains(m) {
            cc.push(m.clone());
        }
    }
    Audience { to, cc }
}

/// An activity wrapping `object`, with the owner as actor.
pub fn build_activity(
    config: &Config,
    kind: &str,
    id: &str,
    object: Value,
    audience: Option<&Audience>,
) -> Value {
    let mut a = json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": config.actor_url(),
        "object": object,
    });
    if let Some(aud) = audience {
        a["to"] = json!(aud.to);
        a["cc"] = json!(aud.cc);
    }
    a
}

/// `Create` or `Update` (`kind`) of an object kith authored: the object without its
/// own `@context`, the activity addressed as the object is, and `published` when given.
/// Publishing, serving and export all wrap objects here.
pub fn wrap_object(
    config: &Config,
    kind: &str,
    id: &str,
    mut object: Value,
    published: Option<&str>,
) -> Value {
    if let Some(o) = object.as_object_mut() {
        o.remove("@context");
    }
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let audience = Audience {
        to: list(object.get("to")),
        cc: list(object.get("cc")),
    };
    let mut a = build_activity(config, kind, id, object, Some(&audience));
    if let Some(published) = published {
        a["published"] = json!(published);
    }
    a
}

/// `Follow` of `target`.
pub fn build_follow(config: &Config, id: &str, target: &str) -> Value {
    let mut a = build_activity(config, "Follow", id, json!(target), None);
    a["to"] = json!([target]);
    a
}

/// `Accept` or `Reject` (`kind`) of a received `Follow`.
pub fn build_follow_answer(
    config: &Config,
    kind: &str,
    id: &str,
    follow_id: &str,
    follower: &str,
) -> Value {
    let object =
        json!({"id": follow_id, "type": "Follow", "actor": follower, "object": config.actor_url()});
    let mut a = build_activity(config, kind, id, object, None);
    a["to"] = json!([follower]);
    a
}

/// `Undo` of an earlier activity (given whole, without its `@context`).
pub fn build_undo(config: &Config, id: &str, mut inner: Value, to: &[String]) -> Value {
    if let Some(o) = inner.as_object_mut() {
        o.remove("@context");
    }
    let mut a = build_activity(config, "Undo", id, inner, None);
    a["to"] = json!(to);
    a
}

/// `Like` of a post.
pub fn build_like(config: &Config, id: &str, object: &str, author: &str) -> Value {
    let mut a = build_activity(config, "Like", id, json!(object), None);
    a["to"] = json!([author]);
    a
}

/// `Announce` (boost) of a post, public: to everyone, copied to the post's author and
/// the owner's followers. The one builder for delivering, serving and exporting a boost.
pub fn build_announce(
    config: &Config,
    id: &str,
    object: &str,
    author: &str,
    published: &str,
) -> Value {
    let followers = format!("{}/followers", config.actor_url());
    let mut a = build_activity(config, "Announce", id, json!(object), None);
    a["to"] = json!([PUBLIC]);
    a["cc"] = json!([author, followers]);
    a["published"] = json!(published);
    a
}

/// `Block` of an actor.
pub fn build_block(config: &Config, id: &str, target: &str) -> Value {
    let mut a = build_activity(config, "Block", id, json!(target), None);
    a["to"] = json!([target]);
    a
}

/// `Delete` of a post, with a `Tombstone`.
pub fn build_delete(config: &Config, id: &str, object_id: &str, audience: &Audience) -> Value {
    build_activity(
        config,
        "Delete",
        id,
        json!({"id": object_id, "type": "Tombstone"}),
        Some(audience),
    )
}

/// `Tombstone` answered for a deleted post.
pub fn build_tombstone(object_id: &str, deleted: &str) -> Value {
    json!({"@context": context(), "id": object_id, "type": "Tombstone", "deleted": deleted})
}

/// `Flag` of an actor (`objects`: its actor URI, then the reported posts' URIs) with
/// the owner's comment, sent to the actor's server.
pub fn build_flag(config: &Config, id: &str, objects: &[String], comment: &str) -> Value {
    let mut a = build_activity(config, "Flag", id, json!(objects), None);
    a["content"] = json!(comment);
    if let Some(target) = objects.first() {
        a["to"] = json!([target]);
    }
    a
}

/// `Move` of the account to `target`.
pub fn build_move(config: &Config, id: &str, target: &str) -> Value {
    let mut a = build_activity(config, "Move", id, json!(config.actor_url()), None);
    a["target"] = json!(target);
    a["to"] = json!([format!("{}/followers", config.actor_url())]);
    a
}

/// An `OrderedCollection` with only `totalItems` and a `first` page link.
pub fn build_collection(id: &str, total: i64, first: Option<String>) -> Value {
    let mut c =
        json!({"@context": context(), "id": id, "type": "OrderedCollection", "totalItems": total});
    if let Some(first) = first {
        c["first"] = json!(first);
    }
    c
}

/// An `OrderedCollectionPage` of `items`.
pub fn build_collection_page(
    id: &str,
    part_of: &str,
    items: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut p = json!({
        "@context": context(), "id": id, "type": "OrderedCollectionPage",
        "partOf": part_of, "orderedItems": items,
    });
    if let Some(next) = next {
        p["next"] = json!(next);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse("public_url = \"https://k.example\"\nusername = \"me\"").unwrap()
    }

    #[test]
    fn audiences_follow_mastodon() {
        let c = cfg();
        let m = vec!["https://r.example/users/bob".to_string()];
        let f = "https://k.example/users/me/followers".to_string();
        assert_eq!(
            audience(&c, "public", &m),
            Audience {
                to: vec![PUBLIC.into()],
                cc: vec![f.clone(), m[0].clone()]
            }
        );
        assert_eq!(
            audience(&c, "unlisted", &[]),
            Audience {
                to: vec![f.clone()],
                cc: vec![PUBLIC.into()]
            }
        );
        assert_eq!(
            audience(&c, "private", &m),
            Audience {
                to: vec![f],
                cc: m.clone()
            }
        );
        assert_eq!(audience(&c, "direct", &m), Audience { to: m, cc: vec![] });
    }

    #[test]
    fn activities() {
        let c = cfg();
        let f = build_follow(&c, "https://k.example/f/1", "https://r.example/users/bob");
        assert_eq!(f["type"], "Follow");
        assert_eq!(f["actor"], "https://k.example/users/me");
        assert_eq!(f["object"], "https://r.example/users/bob");
        let u = build_undo(
            &c,
            "https://k.example/f/1#undo",
            f.clone(),
            &["https://r.example/users/bob".into()],
        );
        assert_eq!(u["object"]["type"], "Follow");
        assert!(u["object"].get("@context").is_none());
        let acc = build_follow_answer(
            &c,
            "Accept",
            "https://k.example/users/me#accepts/1",
            "https://r.example/f/9",
            "https://r.example/users/bob",
        );
        assert_eq!(acc["object"]["id"], "https://r.example/f/9");
        assert_eq!(acc["object"]["object"], "https://k.example/users/me");
        let mv = build_move(&c, "https://k.example/m/1", "https://new.example/users/me");
        assert_eq!(mv["object"], "https://k.example/users/me");
        assert_eq!(mv["target"], "https://new.example/users/me");
    }
}

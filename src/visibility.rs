//! Who may see a post, decided in one place for every face: the client API, the web
//! pages and feeds, and ActivityPub GETs all ask [`may_see`] with the [`Viewer`] of
//! their request. kith is single-user, so a viewer is the owner (a user token or the
//! web session, who sees everything kith stored), a signed remote actor (the owner's
//! followers-only posts when it follows the owner, direct ones when addressed) or
//! anybody else (public and unlisted posts only). A boost is seen only together with
//! the post it boosts, so a boost can never carry a post past this check.

use crate::db::Conn as Connection;
use crate::db::actors::RemoteActor;
use crate::db::posts::{self, Post};
use crate::db::{blocks, follows};
use crate::error::Result;

/// Who is looking at a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A visitor, an API call without a token, or an app's own (client_credentials) token.
    Anonymous,
    /// The owner: an API token issued to the owner, or the owner's web session.
    Owner,
    /// A remote actor whose signed GET verified.
    Remote {
        /// The actor's row id.
        id: i64,
        /// The actor's ActivityPub id.
        uri: String,
    },
}

impl Viewer {
    /// The viewer a verified remote signer is.
    pub fn remote(actor: &RemoteActor) -> Viewer {
        Viewer::Remote {
            id: actor.id,
            uri: actor.uri.clone(),
        }
    }

    /// The owner when `owner`, else anybody.
    pub fn owner_if(owner: bool) -> Viewer {
        if owner {
            Viewer::Owner
        } else {
            Viewer::Anonymous
        }
    }

    /// Whether this is the owner.
    pub fn is_owner(&self) -> bool {
        *self == Viewer::Owner
    }
}

/// Whether a visibility lets anybody see a post (public and unlisted).
pub fn is_public(visibility: &str) -> bool {
    matches!(visibility, "public" | "unlisted")
}

/// Whether `viewer` may see `post`; a boost only when the viewer may also see the post it boosts.
pub fn may_see(conn: &Connection, viewer: &Viewer, post: &Post) -> Result<bool> {
    if !may_see_one(conn, viewer, post)? {
        return Ok(false);
    }
    let Some(original_id) = post.reblog_of_id else {
        return Ok(true);
    };
    match posts::find(conn, original_id)? {
        // A boost of a boost is nothing kith makes or keeps.
        Some(original) if original.reblog_of_id.is_none() => may_see_one(conn, viewer, &original),
        _ => Ok(false),
    }
}

/// The posts of `list` that `viewer` may see, in order.
pub fn filter(conn: &Connection, viewer: &Viewer, list: Vec<Post>) -> Result<Vec<Post>> {
    let mut shown = Vec::with_capacity(list.len());
    for post in list {
        if may_see(conn, viewer, &post)? {
            shown.push(post);
        }
    }
    Ok(shown)
}

/// The check for one post, without looking at what it boosts.
fn may_see_one(conn: &Connection, viewer: &Viewer, post: &Post) -> Result<bool> {
    if post.deleted_at.is_some() {
        return Ok(false);
    }
    match viewer {
        Viewer::Owner => Ok(true),
        Viewer::Anonymous => Ok(is_public(&post.visibility) && !author_blocked(conn, post)?),
        Viewer::Remote { id, uri } => {
            if is_public(&post.visibility) {
                return Ok(!author_blocked(conn, post)?);
            }
            // Other people's private posts were stored for the owner alone; a blocked
            // actor sees nothing private.
            if !post.is_local() || blocks::is_blocked(conn, *id)? {
                return Ok(false);
            }
            if addressed(conn, post, uri)? {
                return Ok(true);
            }
            Ok(post.visibility == "private"
                && follows::find(conn, false, *id)?.is_some_and(|f| f.accepted))
        }
    }
}

/// Whether a post is by a remote account the owner blocked (hidden from everybody else).
fn author_blocked(conn: &Connection, post: &Post) -> Result<bool> {
    match post.actor_id {
        Some(actor_id) => blocks::is_blocked(conn, actor_id),
        None => Ok(false),
    }
}

/// Whether a post names `uri` among its mentions or its `to`/`cc`.
fn addressed(conn: &Connection, post: &Post, uri: &str) -> Result<bool> {
    if post.audience().iter().any(|a| a == uri) {
        return Ok(true);
    }
    Ok(posts::list_mentions(conn, post.id)?
        .iter()
        .any(|m| m.actor_uri == uri))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors};

    fn add(conn: &Connection, id: i64, actor: Option<i64>, visibility: &str) -> Post {
        let mut p = posts::sample(id, &format!("https://x.example/s/{id}"));
        p.actor_id = actor;
        p.visibility = visibility.into();
        posts::insert(conn, &p, &posts::Parts::default()).unwrap();
        p
    }

    #[test]
    fn each_viewer_sees_its_share() {
        let conn = Db::open_in_memory().unwrap();
        let bob = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        let carol =
            actors::upsert(&conn, &actors::sample("https://r.example/users/carol")).unwrap();
        let public = add(&conn, 1, None, "public");
        let own_private = add(&conn, 2, None, "private");
        let mut own_direct = posts::sample(3, "https://x.example/s/3");
        own_direct.visibility = "direct".into();
        own_direct.audience_json = r#"["https://r.example/users/carol"]"#.into();
        posts::insert(&conn, &own_direct, &posts::Parts::default()).unwrap();
        let bobs_private = add(&conn, 4, Some(bob), "private");
        follows::upsert(&conn, false, bob, "https://r.example/follow", true, 0).unwrap();
        let (anon, owner) = (Viewer::Anonymous, Viewer::Owner);
        let (as_bob, as_carol) = (
            Viewer::Remote {
                id: bob,
                uri: "https://r.example/users/bob".into(),
            },
            Viewer::Remote {
                id: carol,
                uri: "https://r.example/users/carol".into(),
            },
        );
        let sees = |v: &Viewer, p: &Post| may_see(&conn, v, p).unwrap();
        for v in [&anon, &owner, &as_bob, &as_carol] {
            assert!(sees(v, &public), "{v:?}");
        }
        assert!(sees(&owner, &own_private) && sees(&as_bob, &own_private));
        assert!(!sees(&anon, &own_private) && !sees(&as_carol, &own_private));
        assert!(sees(&as_carol, &own_direct) && !sees(&as_bob, &own_direct));
        assert!(!sees(&anon, &own_direct));
        // Someone else's private post is the owner's alone, whoever follows whom.
        assert!(sees(&owner, &bobs_private));
        for v in [&anon, &as_bob, &as_carol] {
            assert!(!sees(v, &bobs_private), "{v:?}");
        }
        // A public boost of a private post shows nothing to those who may not see the post.
        let mut boost = posts::sample(5, "https://r.example/boosts/5");
        boost.actor_id = Some(carol);
        boost.reblog_of_id = Some(own_private.id);
        posts::insert(&conn, &boost, &posts::Parts::default()).unwrap();
        assert!(!sees(&anon, &boost) && !sees(&as_carol, &boost));
        assert!(sees(&owner, &boost) && sees(&as_bob, &boost));
        // Visitors do not see the public posts of blocked accounts.
        let bobs_public = add(&conn, 6, Some(bob), "public");
        blocks::insert_block(&conn, bob, "https://x.example/block", 0).unwrap();
        assert!(!sees(&anon, &bobs_public) && sees(&owner, &bobs_public));
        assert!(
            !sees(&as_bob, &own_private),
            "a blocked follower sees nothing private"
        );
    }
}

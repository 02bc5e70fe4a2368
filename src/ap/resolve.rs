//! Remote actors: parsing a fetched actor document (pure, with the origin rules of
//! SECURITY.md 20–25), and finding actors by URL or by `@user@host` through the cache,
//! WebFinger and signed GETs. Network work happens before any write lock is taken.

use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::error::{Error, Result};
use crate::text;
use serde_json::Value;
use url::Url;

/// How long a cached actor is used before it is fetched again.
pub const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Actor types kith accepts.
pub const ACTOR_TYPES: &[&str] = &["Person", "Service", "Application", "Group", "Organization"];

/// The normalised `host[:port]` of a URL: lower case, no trailing dot, IDNA as ASCII
/// (the url crate does that for http and https), the port only when not the default.
pub fn domain_of(url: &Url) -> String {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Whether two ActivityPub ids name the same thing: equal but for the fragment, a
/// trailing slash, and the case of the host (SECURITY.md 21).
pub fn same_id(a: &Url, b: &Url) -> bool {
    let norm = |u: &Url| {
        let mut u = u.clone();
        u.set_fragment(None);
        let path = u.path().trim_end_matches('/').to_string();
        format!(
            "{}://{}{}?{}",
            u.scheme(),
            domain_of(&u),
            path,
            u.query().unwrap_or("")
        )
    };
    norm(a) == norm(b)
}

/// The string form of a JSON value that may be an id string or an object with an `id`.
pub fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn str_field<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A URL field that must be http(s); anything else is dropped.
fn url_field(doc: &Value, key: &str) -> Option<String> {
    let s = doc.get(key).and_then(id_of)?;
    let url = Url::parse(s).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The key of an actor: `publicKey` may be one object or a list; an `owner` other
/// than the actor disqualifies a key (SECURITY.md 15). The first RSA key wins, since
/// kith verifies only RSA: Fedify actors list an Ed25519 key beside the RSA one, in
/// either order, and sign HTTP requests with the RSA key's `keyId`.
fn public_key(doc: &Value, actor_id: &str) -> Option<(String, String)> {
    let keys: Vec<&Value> = match doc.get("publicKey")? {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    let usable: Vec<(String, String)> = keys
        .into_iter()
        .filter_map(|k| {
            let id = k.get("id")?.as_str()?;
            let pem = k.get("publicKeyPem")?.as_str()?;
            let owner = k.get("owner").and_then(Value::as_str).unwrap_or(actor_id);
            (owner == actor_id && pem.len() < 16_384).then(|| (id.to_string(), pem.to_string()))
        })
        .collect();
    let rsa = usable
        .iter()
        .position(|(_, pem)| crate::sig::rsa_public_key_der(pem).is_ok());
    usable.into_iter().nth(rsa.unwrap_or(0))
}

fn image_url(doc: &Value, key: &str) -> Option<String> {
    let v = doc.get(key)?;
    let v = match v {
        Value::Array(list) => list.first()?,
        other => other,
    };
    match v {
        Value::String(_) => url_field(&serde_json::json!({ "u": v }), "u"),
        Value::Object(_) => url_field(v, "url"),
        _ => None,
    }
}

fn profile_fields(doc: &Value) -> String {
    let fields: Vec<Value> = doc
        .get("attachment")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|f| f.get("type").and_then(Value::as_str) == Some("PropertyValue"))
                .take(16)
                .map(|f| {
                    serde_json::json!({
                        "name": text::clean_plain(str_field(f, "name").unwrap_or(""), 255),
                        "value_html": text::sanitize_html(str_field(f, "value").unwrap_or(""), 2048),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(fields).to_string()
}

fn aliases(doc: &Value) -> String {
    let list: Vec<String> = match doc.get("alsoKnownAs") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(id_of)
            .take(20)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// Turns a fetched actor document into a [`RemoteActor`]. `fetched` is the final URL
/// after redirects; the document's `id` must equal it, and may not be on kith's own
/// domain (`local_domain`).
pub fn parse_actor(
    doc: &Value,
    fetched: &Url,
    local_domain: &str,
    now: i64,
) -> Result<RemoteActor> {
    let bad = |why: &str| Error::Unprocessable(format!("unusable actor document: {why}"));
    let kind = str_field(doc, "type").ok_or_else(|| bad("no type"))?;
    if !ACTOR_TYPES.contains(&kind) {
        return Err(bad(&format!("type {kind} is not an actor")));
    }
    let id = str_field(doc, "id").ok_or_else(|| bad("no id"))?;
    let id_url = Url::parse(id).map_err(|_| bad("id is not a URL"))?;
    if !same_id(&id_url, fetched) {
        return Err(bad("id does not match the URL it was fetched from"));
    }
    let domain = domain_of(&id_url);
    if domain == local_domain {
        return Err(bad("a remote document may not claim a local id"));
    }
    let inbox = url_field(doc, "inbox").ok_or_else(|| bad("no inbox"))?;
    let (key_id, pem) = public_key(doc, id)
        .map(|(k, p)| (Some(k), Some(p)))
        .unwrap_or((None, None));
    let endpoints = doc.get("endpoints").cloned().unwrap_or(Value::Null);
    Ok(RemoteActor {
        id: 0,
        uri: id.to_string(),
        username: text::clean_plain(str_field(doc, "preferredUsername").unwrap_or(""), 100),
        domain,
        display_name: text::clean_plain(str_field(doc, "name").unwrap_or(""), 100),
        note_html: text::sanitize_html(str_field(doc, "summary").unwrap_or(""), 10_000),
        url: url_field(doc, "url"),
        inbox,
        shared_inbox: url_field(&endpoints, "sharedInbox"),
        outbox: url_field(doc, "outbox"),
        followers_url: url_field(doc, "followers"),
        following_url: url_field(doc, "following"),
        featured_url: url_field(doc, "featured"),
        key_id,
        public_key_pem: pem,
        avatar_url: image_url(doc, "icon"),
        header_url: image_url(doc, "image"),
        kind: kind.to_string(),
        locked: doc
            .get("manuallyApprovesFollowers")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        discoverable: doc
            .get("discoverable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        fields_json: profile_fields(doc),
        also_known_as: aliases(doc),
        moved_to: url_field(doc, "movedTo"),
        published_at: str_field(doc, "published").and_then(crate::dates::parse_rfc3339),
        fetched_at: now,
        gone_at: None,
    })
}

/// Whether a URL is on kith's own domain.
pub fn is_local(ctx: &Ctx, uri: &str) -> bool {
    Url::parse(uri)
        .map(|u| domain_of(&u) == ctx.config.domain)
        .unwrap_or(false)
}

/// The actor at `uri`: from the cache when fresh, else fetched (signed GET) and cached.
pub fn actor(ctx: &Ctx, uri: &str) -> Result<RemoteActor> {
    if is_local(ctx, uri) {
        return Err(Error::BadRequest("that is a local address".into()));
    }
    if let Some(cached) = ctx.db.read(|c| crate::db::actors::find_by_uri(c, uri))? {
        if cached.gone_at.is_some() {
            return Err(Error::Gone("that account is gone".into()));
        }
        if crate::db::now_ms() - cached.fetched_at < STALE_AFTER_MS {
            return Ok(cached);
        }
    }
    refresh(ctx, uri)
}

/// Fetches the actor at `uri` from its own URL and stores it (replacing its key);
/// a tombstoned actor answers 410 without a fetch. When the document names a new
/// `movedTo`, that account is fetched too (once, not its own `movedTo` in turn), so
/// the move can be checked against its aliases and shown.
pub fn refresh(ctx: &Ctx, uri: &str) -> Result<RemoteActor> {
    refresh_with(ctx, uri, true)
}

fn refresh_with(ctx: &Ctx, uri: &str, follow_move: bool) -> Result<RemoteActor> {
    let now = crate::db::now_ms();
    let cached = ctx.db.read(|c| crate::db::actors::find_by_uri(c, uri))?;
    // A tombstoned actor is never fetched again (SECURITY.md 19), whoever asks.
    if cached.as_ref().is_some_and(|a| a.gone_at.is_some()) {
        return Err(Error::Gone("that account is gone".into()));
    }
    let fetched = match ctx.get_signed(uri) {
        Err(Error::Gone(_)) => {
            let domain = Url::parse(uri).map(|u| domain_of(&u)).unwrap_or_default();
            ctx.db
                .write(|tx| crate::db::actors::insert_tombstone(tx, uri, &domain, now))?;
            return Err(Error::Gone("that account is gone".into()));
        }
        other => other?,
    };
    let doc: Value = serde_json::from_slice(&fetched.body)
        .map_err(|e| Error::Unprocessable(format!("actor document is not JSON: {e}")))?;
    let mut actor = parse_actor(&doc, &fetched.final_url, &ctx.config.domain, now)?;
    // A redirect may land on a blocked domain that the URL asked for did not name
    // (SECURITY.md 13, 21): such an actor is neither stored nor used.
    if ctx
        .db
        .read(|c| crate::db::blocks::is_domain_blocked(c, &actor.domain))?
    {
        return Err(Error::Forbidden("Domain is blocked".into()));
    }
    actor.id = ctx.db.write(|tx| crate::db::actors::upsert(tx, &actor))?;
    if follow_move
        && let Some(target) = &actor.moved_to
        && cached.is_none_or(|c| c.moved_to.as_ref() != Some(target))
        && target != uri
        && !is_local(ctx, target)
        && let Err(e) = refresh_with(ctx, target, false)
    {
        eprintln!("actor {uri} moved to {target}, which cannot be fetched: {e}");
    }
    Ok(actor)
}

/// Finds `user@host` through the cache or WebFinger, then fetches the actor.
pub fn by_handle(ctx: &Ctx, user: &str, host: &str) -> Result<RemoteActor> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == ctx.config.domain {
        return Err(Error::BadRequest("that is the local account".into()));
    }
    if let Some(cached) = ctx
        .db
        .read(|c| crate::db::actors::find_by_acct(c, user, &host))?
        && cached.gone_at.is_none()
        && crate::db::now_ms() - cached.fetched_at < STALE_AFTER_MS
    {
        return Ok(cached);
    }
    let url = ctx.fetcher.webfinger_url(user, &host)?;
    let jrd: Value = serde_json::from_slice(&ctx.fetcher.get_json(url.as_str())?.body)
        .map_err(|e| Error::Unprocessable(format!("WebFinger answer is not JSON: {e}")))?;
    let href = jrd
        .get("links")
        .and_then(Value::as_array)
        .and_then(|links| {
            links.iter().find(|l| {
                l.get("rel").and_then(Value::as_str) == Some("self")
                    && l.get("type").and_then(Value::as_str).is_some_and(|t| {
                        t.starts_with("application/activity+json")
                            || t.starts_with("application/ld+json")
                    })
            })
        })
        .and_then(|l| l.get("href").and_then(Value::as_str))
        .ok_or_else(|| Error::NotFound(format!("no ActivityPub actor for {user}@{host}")))?;
    let found = actor(ctx, href)?;
    if !found.username.eq_ignore_ascii_case(user) {
        return Err(Error::Unprocessable(format!(
            "WebFinger for {user}@{host} points at another account"
        )));
    }
    Ok(found)
}

/// Splits `@user@host`, `user@host` or `acct:user@host` into its parts.
pub fn split_handle(handle: &str) -> Option<(String, String)> {
    let h = handle.trim();
    let h = h.strip_prefix("acct:").unwrap_or(h);
    let h = h.strip_prefix('@').unwrap_or(h);
    let (user, host) = h.split_once('@')?;
    let ok = !user.is_empty() && !host.is_empty() && !host.contains('@') && !host.contains('/');
    ok.then(|| (user.to_string(), host.to_ascii_lowercase()))
}

/// Finds an actor by URL or by handle, whichever `target` is.
pub fn by_url_or_handle(ctx: &Ctx, target: &str) -> Result<RemoteActor> {
    let target = target.trim();
    if target.starts_with("https://") || target.starts_with("http://") {
        return actor(ctx, target);
    }
    let (user, host) = split_handle(target)
        .ok_or_else(|| Error::BadRequest(format!("{target:?} is neither a URL nor @user@host")))?;
    by_handle(ctx, &user, &host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": "https://remote.example/users/bob",
            "type": "Person",
            "preferredUsername": "bob",
            "name": "Bob <b>",
            "summary": "<p>hi<script>x</script></p>",
            "inbox": "https://remote.example/users/bob/inbox",
            "endpoints": {"sharedInbox": "https://remote.example/inbox"},
            "publicKey": {"id": "https://remote.example/users/bob#main-key", "owner": "https://remote.example/users/bob", "publicKeyPem": "PEM"},
            "icon": {"type": "Image", "url": "https://remote.example/a.png"},
            "alsoKnownAs": ["https://old.example/users/bob"],
            "attachment": [{"type": "PropertyValue", "name": "Site", "value": "<a href=\"javascript:x\">x</a>"}]
        })
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_a_mastodon_shaped_actor() {
        let a = parse_actor(
            &doc(),
            &url("https://remote.example/users/bob"),
            "kith.example",
            7,
        )
        .unwrap();
        assert_eq!(a.username, "bob");
        assert_eq!(a.domain, "remote.example");
        assert_eq!(
            a.shared_inbox.as_deref(),
            Some("https://remote.example/inbox")
        );
        assert_eq!(
            a.key_id.as_deref(),
            Some("https://remote.example/users/bob#main-key")
        );
        assert_eq!(
            a.avatar_url.as_deref(),
            Some("https://remote.example/a.png")
        );
        assert!(!a.note_html.contains("script"));
        assert!(!a.fields_json.contains("javascript"));
        assert_eq!(
            a.aliases(),
            vec!["https://old.example/users/bob".to_string()]
        );
    }

    #[test]
    fn origin_rules() {
        let d = doc();
        // sec_20: id differs from the fetched URL
        assert!(parse_actor(&d, &url("https://remote.example/users/eve"), "k.example", 0).is_err());
        // sec_21: fragment, trailing slash and host case are ignored
        assert!(
            parse_actor(
                &d,
                &url("https://REMOTE.example/users/bob/#x"),
                "k.example",
                0
            )
            .is_ok()
        );
        // sec_22: a remote document claiming a local id
        assert!(
            parse_actor(
                &d,
                &url("https://remote.example/users/bob"),
                "remote.example",
                0
            )
            .is_err()
        );
        // sec_15: a key owned by someone else is not the actor's key
        let mut other = d.clone();
        other["publicKey"]["owner"] = json!("https://remote.example/users/eve");
        let a = parse_actor(
            &other,
            &url("https://remote.example/users/bob"),
            "k.example",
            0,
        )
        .unwrap();
        assert!(a.public_key_pem.is_none());
        let mut note = d;
        note["type"] = json!("Note");
        assert!(
            parse_actor(
                &note,
                &url("https://remote.example/users/bob"),
                "k.example",
                0
            )
            .is_err()
        );
    }

    #[test]
    fn the_rsa_key_is_kept_when_an_ed25519_key_comes_first() {
        // A Fedify actor with its Ed25519 key listed before its RSA key.
        let rsa = include_str!("../../tests/fixtures/sig/key-a.pub.pem");
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAxse0IjZBUHeAIJ77OikZcfCkgo8wRSdU/DX7Yaoxok0=\n-----END PUBLIC KEY-----\n";
        let mut d = doc();
        d["publicKey"] = json!([
            {"id": "https://remote.example/users/bob#main-key", "owner": "https://remote.example/users/bob", "publicKeyPem": ed25519},
            {"id": "https://remote.example/users/bob#key-2", "owner": "https://remote.example/users/bob", "publicKeyPem": rsa},
        ]);
        let a = parse_actor(&d, &url("https://remote.example/users/bob"), "k.example", 0).unwrap();
        assert_eq!(
            a.key_id.as_deref(),
            Some("https://remote.example/users/bob#key-2")
        );
        assert_eq!(a.public_key_pem.as_deref(), Some(rsa));
    }

    #[test]
    fn domains_and_handles() {
        assert_eq!(domain_of(&url("https://Example.ORG./x")), "example.org");
        assert_eq!(domain_of(&url("http://localhost:8001/x")), "localhost:8001");
        assert_eq!(
            domain_of(&url("https://bücher.example/")),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            split_handle("@bob@Remote.example"),
            Some(("bob".into(), "remote.example".into()))
        );
        assert_eq!(
            split_handle("acct:bob@remote.example"),
            Some(("bob".into(), "remote.example".into()))
        );
        assert_eq!(split_handle("bob"), None);
        assert_eq!(split_handle("@bob@a@b"), None);
    }
}

//! Discovery documents kith serves: WebFinger (JRD), host-meta (XRD) and NodeInfo
//! 2.0/2.1. Resource parsing is pure and unit-tested; the router supplies the counts.

use crate::config::Config;
use crate::error::{Error, Result};
use serde_json::{Value, json};

/// The JRD content type.
pub const JRD: &str = "application/jrd+json; charset=utf-8";

/// Checks a WebFinger `resource` against the local account: `acct:user@domain`,
/// `user@domain`, or the actor / profile URL. Unknown resources are `NotFound`,
/// malformed ones `BadRequest`.
pub fn match_resource(config: &Config, resource: Option<&str>) -> Result<()> {
    let resource = resource.map(str::trim).filter(|r| !r.is_empty());
    let Some(resource) = resource else {
        return Err(Error::BadRequest(
            "the resource parameter is required".into(),
        ));
    };
    if resource.len() > 1024 || resource.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "the resource parameter is malformed".into(),
        ));
    }
    if resource.starts_with("https://") || resource.starts_with("http://") {
        let url = url::Url::parse(resource)
            .map_err(|_| Error::BadRequest("the resource parameter is not a valid URL".into()))?;
        let normalised = url.as_str().trim_end_matches('/');
        let profile = format!("{}/@{}", config.public_url, config.username);
        return if normalised == config.actor_url() || normalised == profile {
            Ok(())
        } else {
            Err(Error::NotFound("unknown resource".into()))
        };
    }
    if resource.chars().any(char::is_whitespace) {
        return Err(Error::BadRequest(
            "the resource parameter is malformed".into(),
        ));
    }
    let handle = match resource.strip_prefix("acct:") {
        Some(h) => h,
        // Another well-formed URI (mailto:, did:, …) names nothing kith serves.
        None if has_other_scheme(resource) => {
            return Err(Error::NotFound("unknown resource".into()));
        }
        None => resource,
    };
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let Some((user, host)) = handle.rsplit_once('@') else {
        return Err(Error::BadRequest(
            "the resource must be acct:user@domain or a URL".into(),
        ));
    };
    // RFC 7565: the user part is unreserved, sub-delims or %-escapes; the host a
    // name or address, with an optional port.
    let user_ok = |c: char| c.is_alphanumeric() || "-._~!$&'()*+,;=%".contains(c);
    let host_ok = |c: char| c.is_alphanumeric() || "-.:[]".contains(c);
    if user.is_empty()
        || host.is_empty()
        || !user.chars().all(user_ok)
        || !host.chars().all(host_ok)
    {
        return Err(Error::BadRequest(
            "the resource must be acct:user@domain or a URL".into(),
        ));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if user.eq_ignore_ascii_case(&config.username) && host == config.domain {
        Ok(())
    } else {
        Err(Error::NotFound("unknown resource".into()))
    }
}

/// Whether a resource starts with a URI scheme other than `acct`, `http` and `https`
/// (a `user@host` without scheme has none: `:` may only follow the `@`).
fn has_other_scheme(resource: &str) -> bool {
    let Some((scheme, _)) = resource.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !scheme.contains('@')
}

/// The JRD for the local account.
pub fn build_jrd(config: &Config) -> Value {
    let actor = config.actor_url();
    let profile = format!("{}/@{}", config.public_url, config.username);
    json!({
        "subject": format!("acct:{}@{}", config.username, config.domain),
        "aliases": [actor, profile],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
            {"rel": "http://ostatus.org/schema/1.0/subscribe",
             "template": format!("{}/authorize_interaction?uri={{uri}}", config.public_url)},
        ]
    })
}

/// The host-meta XRD, pointing at WebFinger.
pub fn build_host_meta(config: &Config) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        config.public_url
    )
}

/// The `/.well-known/nodeinfo` links document.
pub fn build_nodeinfo_links(config: &Config) -> Value {
    json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{}/nodeinfo/2.0", config.public_url)},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{}/nodeinfo/2.1", config.public_url)},
        ]
    })
}

/// A NodeInfo document of version `2.0` or `2.1` with the given local post count.
pub fn build_nodeinfo(version: &str, local_posts: i64) -> Value {
    let software = json!({"name": "kith", "version": env!("CARGO_PKG_VERSION")});
    json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": false,
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": local_posts
        },
        "metadata": {
            "nodeName": "kith",
            "upstream": {"name": "mastodon", "version": crate::MASTODON_API_VERSION}
        }
    })
}

/// The NodeInfo schema URL of a version, for the `Content-Type` profile.
pub fn nodeinfo_content_type(version: &str) -> String {
    format!("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse("public_url = \"https://kith.example\"\nusername = \"alice\"").unwrap()
    }

    fn status(r: Option<&str>) -> u16 {
        match match_resource(&cfg(), r) {
            Ok(()) => 200,
            Err(e) => e.status(),
        }
    }

    #[test]
    fn resources() {
        assert_eq!(status(Some("acct:alice@kith.example")), 200);
        assert_eq!(status(Some("acct:Alice@KITH.example")), 200);
        assert_eq!(status(Some("alice@kith.example")), 200);
        assert_eq!(status(Some("@alice@kith.example")), 200);
        assert_eq!(status(Some("https://kith.example/users/alice")), 200);
        assert_eq!(status(Some("https://kith.example/@alice")), 200);
        assert_eq!(status(Some("acct:bob@kith.example")), 404);
        assert_eq!(status(Some("acct:alice@other.example")), 404);
        assert_eq!(status(Some("https://kith.example/users/bob")), 404);
        assert_eq!(status(None), 400);
        assert_eq!(status(Some("")), 400);
        assert_eq!(status(Some("acct:alice")), 400);
        assert_eq!(status(Some("acct:@kith.example")), 400);
        assert_eq!(status(Some("https://")), 400);
        // Malformed (RFC 7033 §4.2: 400) and well-formed but unknown (404).
        assert_eq!(status(Some("acct:al ice@kith.example")), 400);
        assert_eq!(status(Some("acct:alice@kith example")), 400);
        assert_eq!(status(Some("acct:alice@kith.example/users")), 400);
        assert_eq!(status(Some("acct:a<b>@kith.example")), 400);
        assert_eq!(status(Some("alice@@kith.example")), 400);
        assert_eq!(status(Some("mailto:alice@kith.example")), 404);
        assert_eq!(status(Some("acct:alice@kith.example:8080")), 404);
    }

    #[test]
    fn jrd_links() {
        let jrd = build_jrd(&cfg());
        assert_eq!(jrd["subject"], "acct:alice@kith.example");
        let links = jrd["links"].as_array().unwrap();
        assert_eq!(links[0]["rel"], "self");
        assert_eq!(links[0]["href"], "https://kith.example/users/alice");
        assert_eq!(
            links[2]["template"],
            "https://kith.example/authorize_interaction?uri={uri}"
        );
        assert!(
            build_host_meta(&cfg())
                .contains("https://kith.example/.well-known/webfinger?resource={uri}")
        );
    }

    #[test]
    fn nodeinfo_identifies_as_mastodon_compatible() {
        let n = build_nodeinfo("2.1", 7);
        assert_eq!(n["software"]["name"], "kith");
        assert_eq!(n["protocols"][0], "activitypub");
        assert_eq!(n["openRegistrations"], false);
        assert_eq!(n["metadata"]["upstream"]["name"], "mastodon");
        assert_eq!(n["usage"]["localPosts"], 7);
        assert_eq!(build_nodeinfo("2.0", 0)["version"], "2.0");
    }
}

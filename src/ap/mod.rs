//! ActivityPub, the protocol only: the wire shapes of what kith serves and sends
//! (`actor`, `note`, `outbox`: pure builders, no I/O), `resolve` (fetching and caching
//! remote actors and objects), `inbox` (the checklist a POST passes before 202),
//! `deliver` (the delivery worker) and `serve` (GETs of kith's own documents). What
//! kith *does* with an activity is the processing layer's; nothing here names a face.

pub mod actor;
pub mod deliver;
pub mod inbox;
pub mod note;
pub mod outbox;
pub mod resolve;
pub mod serve;

/// Activity types the inbox accepts (others are refused with 400).
pub const KNOWN_TYPES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Like",
    "Announce",
    "EmojiReact",
    "Block",
    "Flag",
    "Move",
    "Add",
    "Remove",
];

/// The `object` of an activity as an id.
pub fn object_id(activity: &serde_json::Value) -> Option<&str> {
    activity.get("object").and_then(resolve::id_of)
}

/// The content type kith serves ActivityPub documents with.
pub const CONTENT_TYPE: &str = "application/activity+json";

/// The ActivityStreams namespace.
pub const AS_NS: &str = "https://www.w3.org/ns/activitystreams";
/// The public collection (Mastodon also accepts `as:Public` and `Public`).
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The `@context` of every document kith serves. Only names: kith never fetches a context.
pub fn context() -> serde_json::Value {
    serde_json::json!([
        AS_NS,
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "Emoji": "toot:Emoji",
            "blurhash": "toot:blurhash",
            "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
            "votersCount": "toot:votersCount",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// Whether an `Accept` header asks for ActivityPub JSON rather than HTML.
pub fn wants_activity_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media == "application/activity+json" || media == "application/ld+json"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_negotiation() {
        assert!(wants_activity_json(Some("application/activity+json")));
        assert!(wants_activity_json(Some(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(Some(
            "text/html;q=0.5, Application/Activity+JSON"
        )));
        assert!(!wants_activity_json(Some(
            "text/html,application/xhtml+xml"
        )));
        assert!(!wants_activity_json(Some("application/json")));
        assert!(!wants_activity_json(Some("*/*")));
        assert!(!wants_activity_json(None));
    }
}

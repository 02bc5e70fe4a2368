//! The local actor document (`Person`) built from the stored account. Pure.

use crate::config::Config;
use crate::db::account::Account;
use serde_json::{Value, json};

/// Builds the `Person` document for the local account.
pub fn build_person(config: &Config, account: &Account) -> Value {
    let actor = config.actor_url();
    let also_known_as: Vec<String> =
        serde_json::from_str(&account.also_known_as).unwrap_or_default();
    let fields: Vec<Value> = serde_json::from_str::<Vec<Value>>(&account.fields_json)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            json!({
                "type": "PropertyValue",
                "name": f.get("name").cloned().unwrap_or(Value::Null),
                "value": f.get("value_html").or_else(|| f.get("value")).cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    let mut doc = json!({
        "@context": super::context(),
        "id": actor,
        "type": if account.bot { "Service" } else { "Person" },
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": account.note_html,
        "url": format!("{}/@{}", config.public_url, account.username),
        "inbox": format!("{actor}/inbox"),
        "outbox": format!("{actor}/outbox"),
        "followers": format!("{actor}/followers"),
        "following": format!("{actor}/following"),
        "featured": format!("{actor}/collections/featured"),
        "featuredTags": format!("{actor}/collections/tags"),
        "endpoints": {"sharedInbox": format!("{}/inbox", config.public_url)},
        "publicKey": {
            "id": format!("{actor}#main-key"),
            "owner": actor,
            "publicKeyPem": account.public_key_pem,
        },
        "icon": image(config, account.avatar_path.as_deref(), "avatar.png"),
        "image": image(config, account.header_path.as_deref(), "header.png"),
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
        "published": crate::dates::iso8601(account.created_at),
        "alsoKnownAs": also_known_as,
        "attachment": fields,
        "tag": [],
    });
    if let Some(moved) = &account.moved_to {
        doc["movedTo"] = json!(moved);
    }
    doc
}

/// An `Image` for the avatar or header: the uploaded file, or the built-in placeholder.
fn image(config: &Config, uploaded: Option<&str>, placeholder: &str) -> Value {
    let (url, media_type) = match uploaded {
        Some(name) => (
            format!("{}/media/{name}", config.public_url),
            media_type_of(name),
        ),
        None => (
            format!("{}{}", config.public_url, crate::assets::url(placeholder)),
            "image/png",
        ),
    };
    json!({"type": "Image", "mediaType": media_type, "url": url})
}

fn media_type_of(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "image/png",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            username: "me".into(),
            display_name: "Me".into(),
            note_html: "<p>hi</p>".into(),
            private_key_der: vec![],
            public_key_pem: "-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n".into(),
            locked: false,
            discoverable: true,
            bot: false,
            fields_json: "[]".into(),
            also_known_as: "[\"https://old.example/users/me\"]".into(),
            moved_to: None,
            avatar_path: None,
            header_path: None,
            note_source: String::new(),
            time_offset_minutes: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn person_has_every_field_peers_need() {
        let config = Config::parse("public_url = \"https://kith.example\"").unwrap();
        let p = build_person(&config, &account());
        assert_eq!(p["id"], "https://kith.example/users/me");
        assert_eq!(p["type"], "Person");
        assert_eq!(p["inbox"], "https://kith.example/users/me/inbox");
        assert_eq!(p["endpoints"]["sharedInbox"], "https://kith.example/inbox");
        assert_eq!(
            p["publicKey"]["id"],
            "https://kith.example/users/me#main-key"
        );
        assert_eq!(p["publicKey"]["owner"], "https://kith.example/users/me");
        assert!(
            p["publicKey"]["publicKeyPem"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_eq!(p["url"], "https://kith.example/@me");
        assert_eq!(p["manuallyApprovesFollowers"], false);
        assert_eq!(p["published"], "1970-01-01T00:00:00Z");
        assert_eq!(p["alsoKnownAs"][0], "https://old.example/users/me");
        for key in [
            "preferredUsername",
            "name",
            "summary",
            "outbox",
            "followers",
            "following",
            "featured",
            "featuredTags",
            "icon",
            "discoverable",
        ] {
            assert!(p.get(key).is_some(), "missing {key}");
        }
        assert!(p.get("movedTo").is_none());
    }
}

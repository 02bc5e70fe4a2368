//! The channels a stream subscribes to, the events the hub carries, and which
//! message (if any) each channel makes of each event: Mastodon's `{"stream": […],
//! "event": …, "payload": "<JSON as a string>"}`.

use crate::mastodon::auth;
use serde_json::json;

/// A channel of events, as a client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The home timeline and notifications.
    User,
    /// Notifications only.
    UserNotification,
    /// Public posts; `local`: `Some(true)` local only, `Some(false)` remote only.
    Public { local: Option<bool>, media: bool },
    /// Public posts with a hashtag (as the client spelled it).
    Hashtag { tag: String, local: bool },
    /// Posts of a list's members.
    List(i64),
    /// Direct conversations (`conversation` events).
    Direct,
}

impl Channel {
    /// The channel a `stream` name and its `tag` or `list` parameter name; the error is
    /// the message Mastodon sends.
    pub fn parse(
        stream: &str,
        tag: Option<&str>,
        list: Option<&str>,
    ) -> std::result::Result<Channel, &'static str> {
        let tag = || {
            tag.map(|t| t.trim().trim_start_matches('#').to_string())
                .filter(|t| !t.is_empty())
                .ok_or("Missing tag name parameter")
        };
        let public = |local, media| Ok(Channel::Public { local, media });
        match stream {
            "user" => Ok(Channel::User),
            "user:notification" => Ok(Channel::UserNotification),
            "public" => public(None, false),
            "public:media" => public(None, true),
            "public:local" => public(Some(true), false),
            "public:local:media" => public(Some(true), true),
            "public:remote" => public(Some(false), false),
            "public:remote:media" => public(Some(false), true),
            "hashtag" => Ok(Channel::Hashtag {
                tag: tag()?,
                local: false,
            }),
            "hashtag:local" => Ok(Channel::Hashtag {
                tag: tag()?,
                local: true,
            }),
            "direct" => Ok(Channel::Direct),
            "list" => list
                .and_then(|l| l.trim().parse().ok())
                .map(Channel::List)
                .ok_or("Missing list name parameter"),
            _ => Err("Unknown stream type"),
        }
    }

    /// The `stream` array of its events.
    pub fn names(&self) -> Vec<String> {
        match self {
            Channel::User => vec!["user".into()],
            Channel::UserNotification => vec!["user:notification".into()],
            Channel::Public { local, media } => {
                let origin = match local {
                    Some(true) => ":local",
                    Some(false) => ":remote",
                    None => "",
                };
                let media = if *media { ":media" } else { "" };
                vec![format!("public{origin}{media}")]
            }
            Channel::Hashtag { tag, local } => {
                let name = if *local { "hashtag:local" } else { "hashtag" };
                vec![name.into(), tag.clone()]
            }
            Channel::List(id) => vec!["list".into(), id.to_string()],
            Channel::Direct => vec!["direct".into()],
        }
    }

    /// The scope a token needs for it (`read` covers them all).
    pub fn scope(&self) -> &'static str {
        match self {
            Channel::UserNotification => "read:notifications",
            Channel::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }
}

/// Something to tell the open streams, already rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new or edited status.
    Status(StatusEvent),
    /// A status is gone (deleted, or a boost undone).
    Delete(i64),
    /// A `Notification` JSON.
    Notification(String),
}

/// A new (`update`) or edited (`status.update`) status, rendered for each place it shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusEvent {
    /// `update` or `status.update`.
    pub event: &'static str,
    /// The `Status` JSON for the home timeline and lists, if it belongs there and no
    /// filter hides it.
    pub home: Option<String>,
    /// The `Status` JSON for public and hashtag timelines, likewise.
    pub public: Option<String>,
    /// Written here (for the `:local` and `:remote` channels).
    pub local: bool,
    /// Has media attachments (for the `:media` channels).
    pub media: bool,
    /// Its hashtags whose timelines show it, lower-case.
    pub tags: Vec<String>,
    /// The lists whose timelines show it.
    pub lists: Vec<i64>,
    /// The `Conversation` JSON of a new direct status.
    pub conversation: Option<String>,
}

/// The message a channel carries for an event, if it carries one; `scopes` are the
/// stream's token's.
pub fn render(event: &Event, channel: &Channel, scopes: &str) -> Option<String> {
    let (name, payload) = message(event, channel, scopes)?;
    Some(json!({"stream": channel.names(), "event": name, "payload": payload}).to_string())
}

/// The event name and payload a channel carries for an event, if it carries one (a
/// server-sent event's `event:` and `data:`); `scopes` are the stream's token's.
pub fn message(event: &Event, channel: &Channel, scopes: &str) -> Option<(&'static str, String)> {
    Some(match event {
        Event::Notification(json) => {
            let for_user = matches!(channel, Channel::User | Channel::UserNotification);
            if !for_user || !auth::covers(scopes, "read:notifications") {
                return None;
            }
            ("notification", json.clone())
        }
        Event::Delete(_) if *channel == Channel::UserNotification => return None,
        Event::Delete(id) => ("delete", id.to_string()),
        Event::Status(s) if *channel == Channel::Direct => {
            ("conversation", s.conversation.clone()?)
        }
        Event::Status(s) => (s.event, status_payload(s, channel)?.clone()),
    })
}

/// The status JSON a channel shows for a status event, if it shows the status.
fn status_payload<'a>(s: &'a StatusEvent, channel: &Channel) -> Option<&'a String> {
    let on_public = match channel {
        Channel::User => return s.home.as_ref(),
        Channel::List(id) => return s.home.as_ref().filter(|_| s.lists.contains(id)),
        Channel::UserNotification | Channel::Direct => false,
        Channel::Public { local, media } => {
            local.is_none_or(|l| l == s.local) && (!media || s.media)
        }
        Channel::Hashtag { tag, local } => {
            s.tags.contains(&tag.to_lowercase()) && (!local || s.local)
        }
    };
    s.public.as_ref().filter(|_| on_public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn channels_parse_and_name() {
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            ("user", None, None, vec!["user"]),
            ("user:notification", None, None, vec!["user:notification"]),
            ("public", None, None, vec!["public"]),
            ("public:local", None, None, vec!["public:local"]),
            (
                "public:remote:media",
                None,
                None,
                vec!["public:remote:media"],
            ),
            ("hashtag", Some("#Rust"), None, vec!["hashtag", "Rust"]),
            ("hashtag:local", Some("x"), None, vec!["hashtag:local", "x"]),
            ("list", None, Some("12"), vec!["list", "12"]),
        ];
        for (stream, tag, list, names) in cases {
            let c = Channel::parse(stream, tag, list).unwrap();
            assert_eq!(c.names(), names, "{stream}");
        }
        assert_eq!(
            Channel::parse("hashtag", None, None),
            Err("Missing tag name parameter")
        );
        assert_eq!(
            Channel::parse("list", None, Some("x")),
            Err("Missing list name parameter")
        );
        assert_eq!(
            Channel::parse("public:nope", None, None),
            Err("Unknown stream type")
        );
    }

    fn status(home: bool, public: bool, local: bool, tags: &[&str]) -> Event {
        Event::Status(StatusEvent {
            event: "update",
            home: home.then(|| "{\"id\":\"1\"}".to_string()),
            public: public.then(|| "{\"id\":\"1\"}".to_string()),
            local,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            lists: vec![7],
            ..StatusEvent::default()
        })
    }

    #[test]
    fn events_reach_the_right_channels() {
        let user = Channel::User;
        let notes = Channel::UserNotification;
        let public = Channel::parse("public", None, None).unwrap();
        let local = Channel::parse("public:local", None, None).unwrap();
        let remote = Channel::parse("public:remote", None, None).unwrap();
        let media = Channel::parse("public:media", None, None).unwrap();
        let tag = Channel::parse("hashtag", Some("Rust"), None).unwrap();
        let list = Channel::List(7);
        let other_list = Channel::List(8);
        let sends = |e: &Event, c: &Channel| render(e, c, "read").is_some();

        let private = status(true, false, true, &[]);
        assert!(sends(&private, &user) && sends(&private, &list));
        for c in [&notes, &public, &local, &tag, &other_list] {
            assert!(!sends(&private, c), "a private post on {c:?}");
        }
        let public_remote = status(false, true, false, &["rust"]);
        assert!(sends(&public_remote, &public) && sends(&public_remote, &remote));
        assert!(sends(&public_remote, &tag));
        for c in [&user, &notes, &local, &media, &list] {
            assert!(!sends(&public_remote, c), "{c:?}");
        }
        let n = Event::Notification("{}".into());
        assert!(sends(&n, &user) && sends(&n, &notes) && !sends(&n, &public));
        assert!(render(&n, &user, "read:statuses").is_none());
        let direct = Channel::Direct;
        assert!(!sends(&private, &direct) && !sends(&public_remote, &direct));
        let dm = Event::Status(StatusEvent {
            event: "update",
            home: Some("{}".into()),
            conversation: Some("{}".into()),
            ..StatusEvent::default()
        });
        let msg: Value = serde_json::from_str(&render(&dm, &direct, "read").unwrap()).unwrap();
        assert_eq!(msg["event"], "conversation");
        let d = Event::Delete(5);
        assert!(sends(&d, &user) && sends(&d, &public) && !sends(&d, &notes));
    }

    #[test]
    fn messages_are_mastodons() {
        let e = status(true, true, true, &["rust"]);
        let text = render(
            &e,
            &Channel::parse("hashtag", Some("Rust"), None).unwrap(),
            "read",
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["stream"], json!(["hashtag", "Rust"]));
        assert_eq!(v["event"], "update");
        assert_eq!(v["payload"], "{\"id\":\"1\"}");
        let d = render(&Event::Delete(42), &Channel::User, "read").unwrap();
        let v: Value = serde_json::from_str(&d).unwrap();
        assert_eq!(
            v,
            json!({"stream": ["user"], "event": "delete", "payload": "42"})
        );
    }
}

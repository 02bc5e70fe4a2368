//! The shared context: everything a request thread or worker needs, behind an `Arc`
//! (the configuration, the database, the signing key, the guarded HTTP client, rate
//! limiters, wake-ups, the open streams and the listeners of events). Every layer
//! uses it, so it names only what it holds; `lib.rs` builds it.

use crate::config::Config;
use crate::db::Db;
use crate::error::Result;
use crate::events::Event;
use crate::{db, fetch, sig};

/// Everything a request thread or worker needs, shared behind an `Arc`.
pub struct Ctx {
    pub config: Config,
    pub db: Db,
    /// Where media files live (the data directory or a bucket).
    pub storage: crate::storage::Storage,
    /// The account's signing key.
    pub key: ring::signature::RsaKeyPair,
    pub limiter: crate::ratelimit::RateLimiter,
    /// The guarded outbound HTTP client.
    pub fetcher: crate::fetch::Fetcher,
    /// Wakes the inbox and delivery workers.
    pub wake: crate::wake::Wake,
    /// Signer key fetches from request threads: failures by client address, and how
    /// many are running.
    pub key_fetches: crate::key_fetches::KeyFetches,
    /// Growing delays between failed logins, per client address.
    pub login_delays: crate::ratelimit::LoginDelays,
    /// Key for the MACs of CSRF tokens and proxy URLs (see [`crate::keys::MacKey`]).
    pub mac_key: crate::keys::MacKey,
    /// The open streaming API connections.
    pub streams: crate::mastodon::streaming::Hub,
    /// Who hears of [`Event`]s.
    pub listeners: Listeners,
}

impl Ctx {
    /// Tells the listeners (open streams) what happened; call after the commit.
    pub fn emit(&self, event: Event) {
        self.listeners.emit(self, event);
    }

    /// The `keyId` of the account's key.
    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.config.actor_url())
    }

    /// Signature headers for an outbound request to `url` (draft-cavage, fresh `Date`).
    pub fn sign_headers(
        &self,
        method: &str,
        url: &url::Url,
        body: Option<&[u8]>,
    ) -> Vec<(String, String)> {
        let outgoing = sig::Outgoing {
            method,
            url,
            accept: (method == "GET").then_some(fetch::ACTIVITY_ACCEPT),
            content_type: body.map(|_| fetch::ACTIVITY_CONTENT_TYPE),
            body,
        };
        sig::sign(&self.key, &self.key_id(), &outgoing, db::now_ms() / 1000)
    }

    /// A signed GET of an ActivityPub document.
    pub fn get_signed(&self, url: &str) -> Result<fetch::Fetched> {
        self.fetcher
            .get_activity(url, Some(&|m, u, b| self.sign_headers(m, u, b)))
    }

    /// A MAC of `data` (hex), with a key only this server knows; for CSRF tokens.
    pub fn mac(&self, data: &str) -> String {
        self.mac_key.sign(data)
    }

    /// Whether `mac` is the MAC of `data` (constant time).
    pub fn mac_ok(&self, data: &str, mac: &str) -> bool {
        self.mac_key.verify(data, mac)
    }

    /// A signed POST of an activity to an inbox.
    pub fn post_signed(&self, inbox: &str, body: &[u8]) -> Result<fetch::Posted> {
        self.fetcher
            .post_activity(inbox, body, &|m, u, b| self.sign_headers(m, u, b))
    }
}

/// A listener: called with every event, on the emitting thread.
pub type Listener = fn(&Ctx, &Event);

/// The listeners of one running kith, fixed when its context is built.
#[derive(Default)]
pub struct Listeners(Vec<Listener>);

impl Listeners {
    /// Listeners that run in the given order.
    pub fn new(listeners: Vec<Listener>) -> Listeners {
        Listeners(listeners)
    }

    /// Tells every listener about `event`.
    pub fn emit(&self, ctx: &Ctx, event: Event) {
        for listener in &self.0 {
            listener(ctx, &event);
        }
    }
}

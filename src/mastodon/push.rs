//! `/api/v1/push/subscription`: an app's Web Push subscription, one per access token
//! and only that token's, under the `push` scope. `POST` creates (or replaces) it from
//! `subscription[endpoint]`, `subscription[keys][p256dh|auth]`,
//! `subscription[standard]`, `data[alerts][…]` and `data[policy]` (form or JSON);
//! `PUT` changes the alerts and policy, `GET` shows it, `DELETE` removes it. Input is
//! checked before anything is stored: the endpoint like every outbound URL (the
//! fetcher's rules, the private-address guard), the keys as a P-256 point and a
//! 16-byte secret. What is pushed, and how, is `crate::push`.

use super::auth::{self, Auth};
use super::ok;
use crate::ctx::Ctx;
use crate::db::{self, push as store};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::push::{ALERTS, POLICIES, encrypt, vapid};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// The longest endpoint URL accepted.
const MAX_ENDPOINT_BYTES: usize = 2048;

/// Routes under `/api/v1/push`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("POST", ["push", "subscription"]) => create(ctx, req),
        ("GET", ["push", "subscription"]) => show(ctx, req),
        ("PUT", ["push", "subscription"]) => update(ctx, req),
        ("DELETE", ["push", "subscription"]) => remove(ctx, req),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn invalid(what: &str) -> Error {
    Error::Unprocessable(format!("Validation failed: {what}"))
}

fn not_found() -> Error {
    Error::NotFound("Record not found".into())
}

/// The caller's token with the `push` scope, and the token as sent.
fn caller(ctx: &Ctx, req: &Req) -> Result<(Auth, String)> {
    let auth = auth::require(ctx, req, "push")?;
    let token = auth::bearer(req)
        .map(str::to_string)
        .ok_or_else(|| Error::Unauthorized("The access token is invalid".into()))?;
    Ok((auth, token))
}

/// Base64url (or standard base64), padded or not, as apps send keys.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    let normal: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normal).ok()
}

/// `data[alerts]` and `data[policy]` (or a bare `policy`) as stored: a JSON object with
/// every known alert (those not given are off) and a known policy (`all` when not given).
fn data(p: &Params) -> Result<(String, String)> {
    let data = p.nested("data").unwrap_or_default();
    let given = data.nested("alerts").unwrap_or_default();
    let mut alerts = Map::new();
    for name in ALERTS {
        let on = given
            .bool(name)
            .map_err(|_| invalid(&format!("data[alerts][{name}] must be true or false")))?
            .unwrap_or(false);
        alerts.insert(name.to_string(), Value::Bool(on));
    }
    // Mastodon.py sends `policy` beside `data`, not inside it.
    let policy = match data.str("policy")?.filter(|s| !s.is_empty()) {
        Some(policy) => policy,
        None => p
            .str("policy")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "all".into()),
    };
    if !POLICIES.contains(&policy.as_str()) {
        return Err(invalid(&format!(
            "data[policy] must be one of {}",
            POLICIES.join(", ")
        )));
    }
    Ok((Value::Object(alerts).to_string(), policy))
}

/// The WebPushSubscription entity.
fn entity(ctx: &Ctx, s: &store::Subscription) -> Result<Value> {
    let stored: Value = serde_json::from_str(&s.alerts).unwrap_or_else(|_| json!({}));
    let alerts: Map<String, Value> = ALERTS
        .iter()
        .map(|name| {
            let on = stored.get(*name).and_then(Value::as_bool).unwrap_or(false);
            (name.to_string(), Value::Bool(on))
        })
        .collect();
    Ok(json!({
        "id": s.id.to_string(),
        "endpoint": s.endpoint,
        "standard": s.standard,
        "alerts": alerts,
        "policy": s.policy,
        "server_key": vapid::public_key_b64(ctx)?,
    }))
}

/// `POST /api/v1/push/subscription`.
fn create(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let (auth, token) = caller(ctx, req)?;
    let p = Params::from_request(req)?;
    let sub = p
        .nested("subscription")
        .ok_or_else(|| invalid("subscription is missing"))?;
    let endpoint = sub
        .str("endpoint")?
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("subscription[endpoint] is missing"))?;
    if endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err(invalid("subscription[endpoint] is too long"));
    }
    ctx.fetcher.check_url(&endpoint).map_err(|e| {
        invalid(&format!(
            "subscription[endpoint] is not a URL kith may send to ({e})"
        ))
    })?;
    let keys = sub
        .nested("keys")
        .ok_or_else(|| invalid("subscription[keys] is missing"))?;
    let p256dh = decode_key(&keys.required("p256dh")?)
        .filter(|k| encrypt::valid_public_key(k))
        .ok_or_else(|| {
            invalid("subscription[keys][p256dh] must be an uncompressed P-256 point in base64url")
        })?;
    let auth_secret = decode_key(&keys.required("auth")?)
        .filter(|k| k.len() == encrypt::AUTH_LEN)
        .ok_or_else(|| invalid("subscription[keys][auth] must be 16 bytes in base64url"))?;
    let standard = sub
        .bool("standard")
        .map_err(|_| invalid("subscription[standard] must be true or false"))?
        .unwrap_or(false);
    let (alerts, policy) = data(&p)?;
    // Made now, before it is first needed by a push.
    vapid::key(ctx)?;
    let now = db::now_ms();
    let stored = ctx.db.write(|tx| {
        store::replace(
            tx,
            &store::NewSubscription {
                token_id: auth.token_id,
                access_token: &token,
                endpoint: &endpoint,
                p256dh: &p256dh,
                auth: &auth_secret,
                standard,
                alerts: &alerts,
                policy: &policy,
            },
            now,
        )
    })?;
    ok(entity(ctx, &stored)?)
}

/// `GET /api/v1/push/subscription`.
fn show(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let (auth, _) = caller(ctx, req)?;
    let found = ctx
        .db
        .read(|c| store::find_for_token(c, auth.token_id))?
        .ok_or_else(not_found)?;
    ok(entity(ctx, &found)?)
}

/// `PUT /api/v1/push/subscription`: replaces the alerts and policy.
fn update(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let (auth, _) = caller(ctx, req)?;
    let (alerts, policy) = data(&Params::from_request(req)?)?;
    let now = db::now_ms();
    let updated = ctx
        .db
        .write(|tx| store::update_data(tx, auth.token_id, &alerts, &policy, now))?
        .ok_or_else(not_found)?;
    ok(entity(ctx, &updated)?)
}

/// `DELETE /api/v1/push/subscription`: `{}` whether or not there was one.
fn remove(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let (auth, _) = caller(ctx, req)?;
    ctx.db
        .write(|tx| store::delete_for_token(tx, auth.token_id))?;
    ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_in_every_base64_apps_use() {
        assert_eq!(decode_key("AQID"), Some(vec![1, 2, 3]));
        assert_eq!(decode_key("AQI="), Some(vec![1, 2]));
        assert_eq!(decode_key("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_key("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_key("not base64!"), None);
    }

    #[test]
    fn data_defaults_and_refusals() {
        let (alerts, policy) = data(&Params::default()).unwrap();
        assert_eq!(policy, "all");
        let alerts: Value = serde_json::from_str(&alerts).unwrap();
        assert_eq!(alerts["mention"], false);
        let p = Params::from_value(
            json!({"data": {"alerts": {"mention": "true", "bogus": "1"}, "policy": "follower"}}),
        );
        let (alerts, policy) = data(&p).unwrap();
        assert_eq!(policy, "follower");
        let alerts: Value = serde_json::from_str(&alerts).unwrap();
        assert_eq!(alerts["mention"], true);
        assert!(alerts.get("bogus").is_none());
        let p = Params::from_value(json!({"policy": "followed"}));
        assert_eq!(data(&p).unwrap().1, "followed");
        let p = Params::from_value(json!({"data": {"policy": "friends"}}));
        assert_eq!(data(&p).unwrap_err().status(), 422);
        let p = Params::from_value(json!({"data": {"alerts": {"mention": "maybe"}}}));
        assert_eq!(data(&p).unwrap_err().status(), 422);
    }
}

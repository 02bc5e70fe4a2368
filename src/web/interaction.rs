//! Interactions across servers. `/authorize_interaction?uri=…` is where other servers
//! send the owner after they click follow, reply, like or boost on a remote page: after
//! login it shows that account or post with the actions to take — an interstitial,
//! never a silent redirect (SECURITY 55). `/remote_follow` is the other direction: a
//! visitor names their own account, kith finds their server's interaction page through
//! WebFinger and shows a link there (again an interstitial, not a redirect).

use super::render::{View, button};
use super::search::{self, Found};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::ratelimit::Bucket;
use maud::{Markup, html};
use serde_json::Value;

fn page(viewer: Option<&Viewer>, title: &str, body: Markup, status: u16) -> Resp {
    super::layout::respond(status, super::layout::frame(viewer, title, html! {}, body))
}

/// `GET /authorize_interaction?uri=…`: the account or post, with what can be done.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let uri = req
        .query_param("uri")
        .or_else(|| req.query_param("acct"))
        .unwrap_or_default();
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(Error::BadRequest("No account or post was named".into()));
    }
    let found = match search::lookup(ctx, uri.strip_prefix("acct:").unwrap_or(uri)) {
        Ok(f) => f,
        Err(e @ (Error::Internal(_) | Error::Db(_) | Error::Io(_) | Error::Busy)) => return Err(e),
        Err(e) => {
            let body = html! {
                h1 { "Nothing to interact with" }
                p { "kith could not find " code { (uri) } ": " (e.public_message()) }
            };
            return Ok(page(Some(viewer), "Not found", body, 404));
        }
    };
    let back = req.target();
    let markup = ctx.db.read(|conn| {
        let account = db::account::get(conn)?;
        let view = View { ctx, conn, viewer: Some(viewer), account: &account, back: &back };
        Ok(match found {
            Found::Account(id) => {
                let actor = db::actors::get(conn, id)?;
                let following = db::follows::find(conn, true, id)?.is_some();
                html! {
                    h1 { "Follow this account?" }
                    (view.account_card(&actor))
                    div.actions {
                        @if following {
                            p.tag { "You follow this account (or asked to)." }
                        } @else {
                            (button(viewer, &format!("/accounts/{id}"), &format!("/accounts/{id}/follow"), "Follow", false))
                        }
                        a.button href=(format!("/accounts/{id}")) { "Open their page" }
                    }
                }
            }
            Found::Post(id) => {
                let post = db::posts::get(conn, id)?;
                html! {
                    h1 { "Interact with this post" }
                    p.hint { "Reply, boost or like it from here." }
                    (view.post(&post, true)?)
                }
            }
        })
    })?;
    Ok(page(Some(viewer), "Remote interaction", markup, 200))
}

/// The `http://ostatus.org/schema/1.0/subscribe` template of a WebFinger answer.
fn subscribe_template(jrd: &Value) -> Option<String> {
    jrd.get("links")?
        .as_array()?
        .iter()
        .find(|l| {
            l.get("rel").and_then(Value::as_str) == Some("http://ostatus.org/schema/1.0/subscribe")
        })?
        .get("template")?
        .as_str()
        .filter(|t| t.contains("{uri}"))
        .map(str::to_string)
}

/// `GET /remote_follow?acct=you@your.server`: a link to follow the owner from there.
pub fn remote_follow(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let acct = req.query_param("acct").unwrap_or_default();
    let handle = format!("@{}@{}", ctx.config.username, ctx.config.domain);
    let fail = |m: String| {
        let body = html! {
            h1 { "Follow " (handle) }
            p.error role="alert" { (m) }
            p { "You can also search for " strong { (handle) } " on your own server and follow from there." }
            p { a href="/" { "Back to the profile" } }
        };
        Ok(page(None, "Follow from your server", body, 422))
    };
    let Some((user, host)) = crate::ap::resolve::split_handle(&acct) else {
        return fail("Give your account as you@your.server.".into());
    };
    if host == ctx.config.domain {
        return fail("That is an account on this server.".into());
    }
    // A visitor makes kith fetch from the network: counted like federation requests.
    let limit = ctx.config.limits.inbox_requests;
    if !ctx
        .limiter
        .hit(Bucket::Federation, req.client_ip, limit)
        .allowed
    {
        return Err(Error::RateLimited {
            limit: None,
            reset_secs: ctx.config.limits.window_secs,
        });
    }
    let jrd = ctx
        .fetcher
        .webfinger_url(&user, &host)
        .and_then(|url| ctx.fetcher.get_json(url.as_str()))
        .ok()
        .and_then(|f| serde_json::from_slice::<Value>(&f.body).ok());
    let Some(template) = jrd.as_ref().and_then(subscribe_template) else {
        return fail(format!(
            "{host} did not say where to follow from (or could not be reached)."
        ));
    };
    let mut encoded = String::new();
    encoded.extend(url::form_urlencoded::byte_serialize(
        ctx.config.actor_url().as_bytes(),
    ));
    let target = template.replace("{uri}", &encoded);
    let Some(parsed) = url::Url::parse(&target)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
    else {
        return fail(format!("{host} gave an unusable address."));
    };
    let body = html! {
        h1 { "Follow " (handle) }
        p { "Continue on " strong { (parsed.host_str().unwrap_or_default()) } " to follow " (handle) " as @" (user) "@" (host) "." }
        p { a.button rel="nofollow noopener noreferrer" href=(parsed.as_str()) { "Continue to " (host) } }
        p { a href="/" { "Back to the profile" } }
    };
    Ok(page(None, "Follow from your server", body, 200))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_subscribe_template() {
        let jrd = json!({"links": [
            {"rel": "self", "href": "x"},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": "https://a.example/authorize_interaction?uri={uri}"}
        ]});
        assert_eq!(
            subscribe_template(&jrd).as_deref(),
            Some("https://a.example/authorize_interaction?uri={uri}")
        );
        assert_eq!(subscribe_template(&json!({"links": []})), None);
        let no_slot = json!({"links": [{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": "https://a.example/"}]});
        assert_eq!(subscribe_template(&no_slot), None);
    }
}

//! The Mastodon client API over real HTTP: in-process kith instances on loopback ports
//! with a known password, driven the way apps drive them (register an app, log in
//! through the real authorize form, call the API with the bearer token). This module
//! holds the harness and the OAuth, instance and error-shape tests; `api_accounts`,
//! `api_statuses` and `api_timelines` hold the rest.

pub use crate::support::Got;
use crate::support::{collect, free_port};
use kith::Server;
use serde_json::{Value, json};
use std::time::Duration;

/// The owner's password on every test instance.
pub const PASSWORD: &str = "correct horse battery staple";

/// One in-process kith instance with a known password and generous API rate limits.
pub struct Api {
    pub server: Option<Server>,
    /// Keeps the data directory alive as long as the instance.
    _dir: tempfile::TempDir,
    pub port: u16,
    pub name: String,
}

impl Api {
    /// Starts an instance for the account `name`.
    pub fn start(name: &str) -> Api {
        Api::start_with(name, "api_requests = 100000\nlogin_attempts = 1000\n")
    }

    /// Starts an instance with this `[limits]` table body.
    pub fn start_with(name: &str, limits: &str) -> Api {
        Api::start_config(name, "allow_private_addresses = true\n", limits)
    }

    /// Starts an instance with these `[federation]` and `[limits]` table bodies.
    pub fn start_config(name: &str, federation: &str, limits: &str) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = format!(
            "public_url = \"http://localhost:{port}\"\nusername = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"{d}\"\n[federation]\n{federation}delivery_workers = 2\n\
             [limits]\n{limits}\n",
            d = dir.path().join("data").display()
        );
        let config = kith::config::Config::parse(&text).unwrap();
        // Only kith serve and kith init create the account; this is what they run.
        kith::prepare(&config).unwrap();
        kith::cli::account::passwd(&config, PASSWORD).unwrap();
        let server = kith::start(config).unwrap();
        Api {
            server: Some(server),
            _dir: dir,
            port,
            name: name.to_string(),
        }
    }

    /// The shared context.
    pub fn ctx(&self) -> &kith::Ctx {
        self.server.as_ref().unwrap().ctx()
    }

    /// `http://127.0.0.1:PORT` + path: where tests connect.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `http://localhost:PORT` + path: the configured public address.
    pub fn public(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// The account's handle as other servers write it.
    pub fn handle(&self) -> String {
        format!("@{}@localhost:{}", self.name, self.port)
    }

    /// The number of rows in a table.
    pub fn count(&self, table: &str) -> i64 {
        self.ctx()
            .db
            .read(|c| Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?))
            .unwrap()
    }

    /// A client without a token.
    pub fn anon(&self) -> Client {
        Client {
            base: self.url(""),
            token: None,
        }
    }

    /// A client with this token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            base: self.url(""),
            token: Some(token.to_string()),
        }
    }

    /// Logs in through the real OAuth flow with `scopes` and returns a client.
    pub fn login(&self, scopes: &str) -> Client {
        let token = login_token(self, scopes);
        self.with_token(&token)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// Waits until every instance has delivered and processed everything.
pub fn settle(instances: &[&Api]) {
    let ctxs: Vec<&kith::Ctx> = instances.iter().map(|a| a.ctx()).collect();
    assert!(
        kith::workers::settle(&ctxs, Duration::from_secs(30)),
        "queues did not drain"
    );
}

/// A plain HTTP client that returns every status and follows no redirects.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends one request; `body` is (content type, bytes).
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<(&str, &[u8])>) -> Got {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let a = agent();
    let resp = match body {
        Some((ct, bytes)) => {
            let req = builder
                .header("Content-Type", ct)
                .body(bytes.to_vec())
                .unwrap();
            a.run(req)
        }
        None => a.run(builder.body(()).unwrap()),
    };
    collect(resp.unwrap_or_else(|e| panic!("{method} {url}: {e}")))
}

/// Encodes pairs as an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// An API client: a base URL and maybe a bearer token.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") {
            // Link headers carry the public address (localhost); connect to the same port.
            let u = url::Url::parse(path).unwrap();
            let mut own = url::Url::parse(&self.base).unwrap();
            own.set_path(u.path());
            own.set_query(u.query());
            return own.to_string();
        }
        format!("{}{path}", self.base)
    }

    /// Sends a request with the token and extra headers.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Got {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("Authorization", a));
        }
        send(method, &self.url(path), &all, body)
    }

    /// GET.
    pub fn get(&self, path: &str) -> Got {
        self.request("GET", path, &[], None)
    }

    /// POST without a body.
    pub fn post(&self, path: &str) -> Got {
        self.request("POST", path, &[], None)
    }

    /// POST a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Got {
        self.json_body("POST", path, body)
    }

    /// POST a form.
    pub fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Got {
        self.form_body("POST", path, pairs)
    }

    /// A JSON body with any method.
    pub fn json_body(&self, method: &str, path: &str, body: &Value) -> Got {
        let bytes = serde_json::to_vec(body).unwrap();
        self.request(method, path, &[], Some(("application/json", &bytes)))
    }

    /// A form body with any method.
    pub fn form_body(&self, method: &str, path: &str, pairs: &[(&str, &str)]) -> Got {
        let body = form(pairs);
        self.request(
            method,
            path,
            &[],
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
    }

    /// DELETE without a body.
    pub fn delete(&self, path: &str) -> Got {
        self.request("DELETE", path, &[], None)
    }

    /// Posts a status with JSON and returns it.
    pub fn status(&self, text: &str, visibility: &str) -> Value {
        self.post_json(
            "/api/v1/statuses",
            &json!({"status": text, "visibility": visibility}),
        )
        .ok()
    }
}

/// Decodes the HTML entities maud writes in attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of attribute `name` inside one tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// The named `<input>` fields of the first form in a page, with their values.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let form = &html[html.find("<form").expect("a form")..];
    let form = &form[..form.find("</form>").expect("form end")];
    form.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let name = attribute(tag, "name")?;
            Some((name, attribute(tag, "value").unwrap_or_default()))
        })
        .collect()
}

/// The `action` of the first form in a page.
pub fn form_action(html: &str) -> String {
    let start = html.find("<form").expect("a form");
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    attribute(tag, "action").expect("form action")
}

/// Registers an app with JSON; returns the Application.
pub fn register_app(api: &Api, redirect_uris: &str, scopes: &str) -> Value {
    api.anon()
        .post_json(
            "/api/v1/apps",
            &json!({"client_name": "kith tests", "redirect_uris": redirect_uris, "scopes": scopes, "website": "https://tests.example"}),
        )
        .ok()
}

/// Opens the authorize page with this query.
pub fn authorize_page(api: &Api, path: &str, query: &[(&str, &str)]) -> Got {
    send(
        "GET",
        &api.url(&format!("{path}?{}", form(query))),
        &[],
        None,
    )
}

/// Submits the form of an authorize page with `password`, as a browser would.
pub fn submit_authorize(api: &Api, page: &Got, password: &str) -> Got {
    assert_eq!(page.status, 200, "authorize page: {}", page.body);
    let mut fields = form_fields(&page.body);
    for (name, value) in fields.iter_mut() {
        if name == "password" {
            *value = password.to_string();
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = form(&pairs);
    send(
        "POST",
        &api.url(&form_action(&page.body)),
        &[],
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
    )
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub const REDIRECT: &str = "https://app.example/callback";

/// Goes through app registration, the authorize form and the token endpoint.
pub fn login_token(api: &Api, scopes: &str) -> String {
    let app = register_app(api, REDIRECT, scopes);
    let client_id = app["client_id"].as_str().unwrap();
    let page = authorize_page(
        api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", scopes),
        ],
    );
    let done = submit_authorize(api, &page, PASSWORD);
    assert_eq!(done.status, 302, "{}", done.body);
    let code = query_param(done.header("location").unwrap(), "code").unwrap();
    let token = api.anon().post_json(
        "/oauth/token",
        &json!({"grant_type": "authorization_code", "code": code, "client_id": client_id,
                "client_secret": app["client_secret"], "redirect_uri": REDIRECT}),
    );
    token.ok()["access_token"].as_str().unwrap().to_string()
}

/// The ids of a JSON array of statuses (or anything with `id`).
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Looks a handle up through search with `resolve=true`; returns the Account.
pub fn resolve_account(client: &Client, handle: &str) -> Value {
    let q = form(&[("q", handle), ("resolve", "true"), ("type", "accounts")]);
    let found = client.get(&format!("/api/v2/search?{q}")).ok();
    let accounts = found["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{handle}: {found}");
    accounts[0].clone()
}

/// `a` follows `b` through the API (b's handle resolved first); returns b's account at a.
pub fn follow(a: &Api, a_client: &Client, b: &Api) -> Value {
    let account = resolve_account(a_client, &b.handle());
    let id = account["id"].as_str().unwrap();
    a_client.post(&format!("/api/v1/accounts/{id}/follow")).ok();
    settle(&[a, b]);
    account
}

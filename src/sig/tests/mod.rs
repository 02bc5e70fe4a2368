//! Tests of HTTP signatures: the fixtures and the test's own signers shared by the
//! files below: fixed vectors made with openssl (`vectors`), the SECURITY.md group A
//! table (`group_a`), RFC 9421 cases (`rfc_cases`), interop styles, keys and the
//! structured-field parser (`styles`).

mod group_a;
mod rfc_cases;
mod styles;
mod vectors;

use super::cavage::parse_cavage_pairs;
use super::rfc9421::{parse_rfc9421, rfc9421_base};
use super::*;
use std::fmt::Debug;

const KEY_A: &[u8] = include_bytes!("../../../tests/fixtures/sig/key-a.pk8.der");
const KEY_A_PEM: &str = include_str!("../../../tests/fixtures/sig/key-a.pub.pem");
const KEY_A_PKCS1_PEM: &str = include_str!("../../../tests/fixtures/sig/key-a.pub-pkcs1.pem");
const KEY_A_PRIVATE_PEM: &str = include_str!("../../../tests/fixtures/sig/key-a.pem");
const KEY_B: &[u8] = include_bytes!("../../../tests/fixtures/sig/key-b.pk8.der");
const KEY_B_PEM: &str = include_str!("../../../tests/fixtures/sig/key-b.pub.pem");
const FOLLOW: &[u8] = include_bytes!("../../../tests/fixtures/sig/follow.json");
const EC_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEI3gR5NPp2cmHfmm8yFd/HwcNlw6Y\n\
    6c0qsJnWRjhcpjjDNdU9aq+AEOD6dB8q4G5Ua6/h0TqBmVnLyAgcME+kFQ==\n\
    -----END PUBLIC KEY-----\n";

/// Mastodon's frozen test clock: 2023-12-20T10:00:00Z.
const NOW: i64 = 1_703_066_400;
const DATE: &str = "Wed, 20 Dec 2023 10:00:00 GMT";
const BASE: &str = "https://kith.example";
const DOMAIN: &str = "kith.example";
const KEY_ID: &str = "https://remote.example/users/alice#main-key";
const AS_JSON: &str = "application/activity+json";
const ACCEPT: &str = "application/activity+json, application/ld+json; \
                      profile=\"https://www.w3.org/ns/activitystreams\"";
const RSA: &str = "algorithm=\"rsa-sha256\"";
const POST_NAMES: &str = "(request-target) host date digest content-type";
const GET_NAMES: &str = "(request-target) host date accept";

// Fixed vectors. The signatures were made with openssl over the literal strings
// (tests/fixtures/sig/README.md); `sign`/`sign_rfc9421` must reproduce them.
const FOLLOW_DIGEST: &str = "SHA-256=4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=";
const FOLLOW_CONTENT_DIGEST: &str = "sha-256=:4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=:";
const TAMPERED: &[u8] = br#"{"type":"Delete"}"#;
const TAMPERED_SHA256: &str = "lqsWV57xmJLjwQbcsLXkzEAqm9K5zcsta46mRSQh6JQ=";
const EMPTY_SHA256: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const POST_STRING: &str = "(request-target): post /users/me/inbox\n\
    host: kith.example\n\
    date: Wed, 20 Dec 2023 10:00:00 GMT\n\
    digest: SHA-256=4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=\n\
    content-type: application/activity+json";
const POST_SIGNATURE: &str = "VfY1NDELGqoIhqXc0BR/KDoyO9gvk4FJQ6OMEW5ugGbL3jtMqx1b8AhKTROWNlhI\
    hM82xFePjJiCejVVFMZH/KHAlpukg3qMBgnLgUGUq5fFcGaV3uaNR8bHF5f9QqR5wR7IcFBFwNKK8WHGeMlPL7kEz/YW\
    KNOISaWRrWDE2EMrOFddUXCv/zDDzcwRurCifzQmZS5peLKJaAs4MazfQq70E0bTnEbyE0IMN+F4tfsmWquljn1sMQG2\
    cI6iEJbJ6Ri0kJI2mgzrDmi3V5OB7odmfCoCuTNwGUCzJuBXWjQVej9p5S3fddbP+ex9j2AUCPxzeH8gUn+8Bv1vTehR\
    TQ==";
const GET_STRING: &str = "(request-target): get /users/me/outbox?page=true\n\
    host: kith.example\n\
    date: Wed, 20 Dec 2023 10:00:00 GMT\n\
    accept: application/activity+json, application/ld+json; \
    profile=\"https://www.w3.org/ns/activitystreams\"";
const GET_SIGNATURE: &str = "FeC1aUeYhLig/wP65ndyzgVaDI4Fzqy+3zmXrM8cS1as/lsC1nFe2jso0Knf+9Ay\
    TB6KcLDlupbRZxswtnDdChZz1NuEjpnby8wYKnkds/uZc5dAKvXAygukOYkfWagFT+rnKBq4NjtOBE/xAGtAAcmpgmMw\
    oyaKAkYGJR0ZiCfbSseiCGiDflBECpGVP2h1ZIaP7eUKvkdX3/4DwUNrsMO+lUH/1vUYRJnj/YJ6v0CCiv1bUYRVVT26\
    /2gtPIc8hEcmla/JVGDar9bQxeRGYGCwiVazyrgkz9yAzEQdzDe1MomlfwvTe8WORvWa5OS287Q9eOtULgDXBlwmhX0E\
    UQ==";
const RFC_INPUT: &str = "(\"@method\" \"@target-uri\" \"content-digest\");created=1703066400;\
    keyid=\"https://remote.example/users/alice#main-key\";alg=\"rsa-v1_5-sha256\"";
const RFC_BASE: &str = "\"@method\": POST\n\
    \"@target-uri\": https://kith.example/users/me/inbox\n\
    \"content-digest\": sha-256=:4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=:\n\
    \"@signature-params\": (\"@method\" \"@target-uri\" \"content-digest\");created=1703066400;\
    keyid=\"https://remote.example/users/alice#main-key\";alg=\"rsa-v1_5-sha256\"";
const RFC_SIGNATURE: &str = "DgLfG6y8srT9SEV3HMtFzR3F0pbV4Gm4Jy4YhU/X88O/T8GfqWGe/Ivnwvn9S/0U\
    vx6tvW6vwzcqUcrWC8w9Cyzyqz4ljP4PDfAIbQyoQZsOJngKm6s6ZaccuDFLSbDZ+scqguw9iq8+hXGR2HhemOb6XCHr\
    7zDu1DJShh1Ei59R75OC8VO00iadqYc4I6MA82Sqc7czGhMG9bQrYuQZxxcUtBn69Nqq4lW2LUtS4vNmr7Ey37/c35uP\
    7FNaDxp9VU71GseMRPeRsfnBZjkhQOhuup1K3+qTXB+zKrzn29iSOGydCA7rl+MTfNSBel4ZM0Pyv0KTbdIjM9QozlVa\
    uw==";

/// An owned incoming request.
#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn new(method: &str, target: &str) -> Req {
        Req {
            method: method.into(),
            path: String::new(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
        .at(target)
    }

    /// The same request sent to another path and query.
    fn at(mut self, target: &str) -> Req {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        (self.path, self.query) = (path.into(), query.into());
        self
    }

    /// The same request with another method.
    fn method(mut self, method: &str) -> Req {
        self.method = method.into();
        self
    }

    /// Replaces every `name` header by one with `value`.
    fn with(self, name: &str, value: &str) -> Req {
        let mut req = self.without(name);
        req.headers.push((name.to_ascii_lowercase(), value.into()));
        req
    }

    /// Adds one more `name` header line.
    fn also(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    fn without(mut self, name: &str) -> Req {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn body(mut self, body: &[u8]) -> Req {
        self.body = body.to_vec();
        self
    }

    fn value(&self, name: &str) -> &str {
        let found = self.headers.iter().find(|(n, _)| n == name);
        &found.unwrap_or_else(|| panic!("no {name} header")).1
    }

    /// Every `name` header value, joined as draft-cavage says.
    fn joined(&self, name: &str) -> String {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(!values.is_empty(), "no {name} header");
        values.join(", ")
    }

    fn incoming(&self) -> Incoming<'_> {
        Incoming {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn check(&self, now: i64) -> Result<Checked> {
        check(&self.incoming(), BASE, DOMAIN, now)
    }

    /// check + verify with key A's public key.
    fn run(&self, now: i64) -> Result<()> {
        verify(&self.check(now)?, KEY_A_PEM)
    }
}

fn key(der: &[u8]) -> RsaKeyPair {
    crate::keys::load(der).unwrap()
}

/// Base64 RSA-SHA256 signature of `text`, made with ring directly.
fn ring_sign(der: &[u8], text: &str) -> String {
    let pair = key(der);
    let mut out = vec![0; pair.public().modulus_len()];
    let rng = ring::rand::SystemRandom::new();
    pair.sign(&RSA_PKCS1_SHA256, &rng, text.as_bytes(), &mut out)
        .unwrap();
    STANDARD.encode(out)
}

/// The test's own draft-cavage signer (independent of the module's string builder):
/// signs `names` of `req` with key A; `params` (e.g. `algorithm="hs2019",created=1`)
/// go first in the header and feed the `(created)`/`(expires)` lines.
fn cavage(req: Req, names: &str, params: &str) -> Req {
    cavage_with(req, KEY_A, names, params)
}

fn cavage_with(req: Req, der: &[u8], names: &str, params: &str) -> Req {
    let param = |name: &str| {
        let prefix = format!("{name}=");
        let found = params.split(',').find_map(|p| p.strip_prefix(&prefix));
        found.unwrap().trim_matches('"').to_string()
    };
    let lines: Vec<String> = names
        .split(' ')
        .map(|name| {
            let value = match name {
                "(request-target)" => {
                    let query = if req.query.is_empty() { "" } else { "?" };
                    let method = req.method.to_ascii_lowercase();
                    format!("{method} {}{query}{}", req.path, req.query)
                }
                "(created)" => param("created"),
                "(expires)" => param("expires"),
                header => req.joined(header),
            };
            format!("{name}: {value}")
        })
        .collect();
    let signature = ring_sign(der, &lines.join("\n"));
    let mut value = format!("keyId=\"{KEY_ID}\",headers=\"{names}\",signature=\"{signature}\"");
    if !params.is_empty() {
        value = format!("{params},{value}");
    }
    req.with("signature", &value)
}

fn post_at(date: &str) -> Req {
    Req::new("POST", "/users/me/inbox")
        .with("host", DOMAIN)
        .with("date", date)
        .with("digest", FOLLOW_DIGEST)
        .with("content-type", AS_JSON)
        .body(FOLLOW)
}

fn get_at(date: &str) -> Req {
    Req::new("GET", "/users/me/outbox?page=true")
        .with("host", DOMAIN)
        .with("date", date)
        .with("accept", ACCEPT)
}

fn signed_post() -> Req {
    cavage(post_at(DATE), POST_NAMES, RSA)
}

fn signed_get() -> Req {
    cavage(get_at(DATE), GET_NAMES, RSA)
}

/// The HTTP date `offset` seconds from NOW.
fn date(offset: i64) -> String {
    http_date(NOW + offset)
}

fn hs2019(created: i64) -> String {
    format!("algorithm=\"hs2019\",created={created}")
}

fn failed(scheme: &str) -> String {
    format!("Verification failed for {KEY_ID} using {scheme} (RSASSA-PKCS1-v1_5 with SHA-256)")
}

/// Asserts one table row: `want` empty means accepted, else 401 with exactly `want`.
fn assert_row<T: Debug>(case: &str, got: Result<T>, want: &str) {
    match got {
        Ok(_) if want.is_empty() => {}
        Ok(v) => panic!("{case}: accepted ({v:?}), wanted 401 {want:?}"),
        Err(e) => {
            assert!(
                !want.is_empty(),
                "{case}: rejected with {e}, wanted accepted"
            );
            assert_eq!(e.status(), 401, "{case}");
            assert_eq!(e.public_message(), want, "{case}");
        }
    }
}

fn outgoing<'a>(method: &'a str, url: &'a url::Url, body: Option<&'a [u8]>) -> Outgoing<'a> {
    let post = method == "POST";
    Outgoing {
        method,
        url,
        accept: (!post).then_some(ACCEPT),
        content_type: post.then_some(AS_JSON),
        body,
    }
}

/// The request a peer receives from `sign`/`sign_rfc9421` output.
fn received(method: &str, url: &url::Url, signed: &[(String, String)], body: &[u8]) -> Req {
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut req = Req::new(method, &target).body(body);
    for (name, value) in signed {
        req = req.also(name, value);
    }
    if method == "POST" {
        req.with("content-type", AS_JSON)
    } else {
        req.with("accept", ACCEPT)
    }
}

fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

const RFC_COMPONENTS: [&str; 3] = ["@method", "@target-uri", "content-digest"];

fn rfc_params(created: i64) -> String {
    format!(";created={created};keyid=\"{KEY_ID}\";alg=\"rsa-v1_5-sha256\"")
}

fn rfc_post() -> Req {
    Req::new("POST", "/users/me/inbox")
        .with("host", DOMAIN)
        .with("content-type", AS_JSON)
        .with("content-digest", FOLLOW_CONTENT_DIGEST)
        .body(FOLLOW)
}

fn rfc_get() -> Req {
    Req::new("GET", "/users/me/outbox?page=true")
        .with("host", DOMAIN)
        .with("accept", ACCEPT)
}

/// The test's own RFC 9421 signer (label sig1, key A): covers `components` of `req`,
/// with `params` (";created=…;keyid=…") after the inner list.
fn rfc9421(req: Req, components: &[&str], params: &str) -> Req {
    let quoted: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    let signature_params = format!("({}){params}", quoted.join(" "));
    let query = if req.query.is_empty() {
        String::new()
    } else {
        format!("?{}", req.query)
    };
    let mut base = String::new();
    for component in components {
        let value = match *component {
            "@method" => req.method.clone(),
            "@target-uri" => format!("{BASE}{}{query}", req.path),
            "@authority" => DOMAIN.to_string(),
            "@scheme" => "https".to_string(),
            "@path" => req.path.clone(),
            "@query" => format!("?{}", req.query),
            "@request-target" => format!("{}{query}", req.path),
            derived if derived.starts_with('@') => "unknown".to_string(),
            header => req.value(header).to_string(),
        };
        base.push_str(&format!("\"{component}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {signature_params}"));
    let signature = ring_sign(KEY_A, &base);
    req.with("signature-input", &format!("sig1={signature_params}"))
        .with("signature", &format!("sig1=:{signature}:"))
}

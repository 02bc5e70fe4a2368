//! Probes of kith's own public URL for `kith doctor`: one GET through the network as
//! a remote server would make it (DNS, the reverse proxy, TLS), so the answer shows
//! what peers see. Unlike every other request kith makes, this one may reach kith's
//! own host and a private address (the operator's own box), so it has an agent of its
//! own: no redirects followed (a redirect is reported), short deadlines, a small cap.

use crate::error::{Error, Result};
use std::io::Read;
use std::time::Duration;
use ureq::Agent;

/// The most of an answer read.
const MAX_BYTES: u64 = 256 * 1024;
/// The deadline of one probe.
const DEADLINE: Duration = Duration::from_secs(10);

/// What a probe got back.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header of a redirect, if any.
    pub location: Option<String>,
    /// The body (at most 256 KiB).
    pub body: Vec<u8>,
}

/// GETs `url` with `accept`; any status is an answer, only a failure to get one is an
/// error.
pub fn probe(url: &str, accept: &str) -> Result<Probed> {
    let parsed =
        url::Url::parse(url).map_err(|e| Error::BadRequest(format!("{url}: not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::BadRequest(format!("{url}: not an http(s) URL")));
    }
    let agent: Agent = Agent::config_builder()
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .user_agent(format!("kith-doctor/{}", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(DEADLINE))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(|e| Error::Network {
            message: format!("{url}: {e}"),
            transient: true,
        })?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_BYTES)
        .read_to_end(&mut body)
        .map_err(|e| Error::Network {
            message: format!("{url}: {e}"),
            transient: true,
        })?;
    Ok(Probed {
        status,
        location,
        body,
    })
}

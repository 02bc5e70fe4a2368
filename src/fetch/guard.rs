//! The private-address guard (SECURITY.md 32–38). It owns three things: the
//! predicate saying which IP addresses may never be dialled, the check of a URL before
//! any I/O (scheme, host, user-info, control characters, hidden services, kith's own
//! host), and the ureq `Resolver` that resolves a host once and refuses when any
//! resolved address is forbidden, so the transport only connects to checked addresses
//! (which also defeats DNS rebinding). It sends no HTTP and must not decide anything
//! about responses; the only network traffic it causes is the wrapped DNS lookup.

use crate::config::Config;
use crate::error::{Error, Result};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use url::{Host, Url};

/// The words every refusal of a private or reserved address starts with, as Mastodon
/// words them (SECURITY.md 14); the inbox recognises a refused key fetch by them.
pub const PRIVATE_ADDRESS: &str = "Requests to private network addresses are disallowed";

/// IPv4 blocks that are never dialled: loopback, private, shared, link-local,
/// documentation, benchmarking, relay, multicast, reserved and broadcast.
const V4_FORBIDDEN: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Blocks inside the global unicast range `2000::/3` that are still never dialled:
/// IETF protocol assignments (Teredo, ORCHID…), documentation, 6to4 and AS112.
const V6_FORBIDDEN_IN_GLOBAL: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48),
];

/// Whether an address may never be dialled (SECURITY.md 32–33). IPv4-mapped IPv6
/// addresses are judged as the IPv4 address; every other IPv6 address outside
/// `2000::/3` (`::`, `::1`, `fc00::/7`, `fe80::/10`, multicast…) is forbidden.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_forbidden(v4),
            None => v6_forbidden(v6),
        },
    }
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let ip = u32::from(ip);
    V4_FORBIDDEN.iter().any(|&(net, prefix)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        ip & mask == u32::from(net) & mask
    })
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    let ip = u128::from(ip);
    if ip >> 125 != 0b001 {
        return true;
    }
    V6_FORBIDDEN_IN_GLOBAL.iter().any(|&(net, prefix)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        ip & mask == u128::from(net) & mask
    })
}

/// Whether text holds a control character or whitespace (SECURITY.md 37). The URL
/// parser silently drops tabs and newlines, so raw text is checked before parsing.
pub(super) fn has_forbidden_chars(text: &str) -> bool {
    text.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A refusal made before any I/O: never transient.
pub(super) fn refused(message: String) -> Error {
    Error::Network {
        message,
        transient: false,
    }
}

/// The rules a URL must pass before kith sends anything to it.
#[derive(Debug, Clone)]
pub(super) struct UrlPolicy {
    /// `[federation] allow_private_addresses`: plain http and private literals allowed.
    pub(super) allow_private: bool,
    /// kith's own host, normalised, and its port.
    own_host: String,
    own_port: Option<u16>,
}

impl UrlPolicy {
    /// The policy of a kith instance.
    pub(super) fn new(config: &Config) -> UrlPolicy {
        let own = Url::parse(&config.public_url).ok();
        let own_host = own
            .as_ref()
            .and_then(|u| u.host_str())
            .map(normalise_host)
            .unwrap_or_else(|| normalise_host(&config.domain));
        UrlPolicy {
            allow_private: config.federation.allow_private_addresses,
            own_host,
            own_port: own.as_ref().and_then(Url::port_or_known_default),
        }
    }

    /// Parses and checks a URL (SECURITY.md 22, 36–38); the error names the reason.
    pub(super) fn check(&self, raw: &str) -> Result<Url> {
        let bad = |why: &str| refused(format!("refused URL {raw:?}: {why}"));
        if raw.is_empty() || has_forbidden_chars(raw) {
            return Err(bad("empty, or holds control characters or whitespace"));
        }
        let url = Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            "http" => return Err(bad("plain http is not allowed")),
            _ => return Err(bad("only http and https URLs are fetched")),
        }
        if !authority_is_plain(raw) {
            return Err(bad("empty host, or one not written right after \"//\""));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("URLs with user-info are not fetched"));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && is_forbidden_ip(ip)
        {
            return Err(Error::PrivateAddress(format!(
                "refused URL {raw:?}: {PRIVATE_ADDRESS} ({ip} is a private or reserved address)"
            )));
        }
        self.check_host(&url).map_err(|why| bad(&why))?;
        Ok(url)
    }

    fn check_host(&self, url: &Url) -> std::result::Result<(), String> {
        let host = match url.host() {
            None => return Err("no host".into()),
            Some(Host::Domain(d)) => normalise_host(d),
            Some(Host::Ipv4(ip)) => self.check_literal(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_literal(IpAddr::V6(ip))?,
        };
        if host.is_empty() {
            return Err("empty host".into());
        }
        if is_hidden_service(&host) {
            return Err("hidden-service (.onion, .i2p) hosts are not fetched".into());
        }
        let same_port = url.port_or_known_default() == self.own_port;
        if host == self.own_host && (same_port || !self.allow_private) {
            return Err("kith's own URLs are never fetched over the network".into());
        }
        Ok(())
    }

    fn check_literal(&self, ip: IpAddr) -> std::result::Result<String, String> {
        if !self.allow_private && is_forbidden_ip(ip) {
            return Err(format!(
                "{PRIVATE_ADDRESS} ({ip} is a private or reserved address)"
            ));
        }
        Ok(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        })
    }
}

/// Whether the host follows `scheme://` directly and no backslash appears: the URL
/// parser would read `https:///x` as host `x` and `\\` as `/`, and other software may
/// read such text differently.
fn authority_is_plain(raw: &str) -> bool {
    let rest = raw.split_once(':').map_or("", |(_, rest)| rest);
    !raw.contains('\\')
        && rest.starts_with("//")
        && !rest[2..].starts_with('/')
        && !rest[2..].is_empty()
}

/// Lower case, without a trailing dot (SECURITY.md 25).
pub(super) fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn is_hidden_service(host: &str) -> bool {
    ["onion", "i2p"]
        .iter()
        .any(|tld| host == *tld || host.ends_with(&format!(".{tld}")))
}

/// Why a connection was refused at dial time; carried inside `ureq::Error::Other`.
#[derive(Debug)]
pub(super) struct Refused {
    host: String,
    addr: IpAddr,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PRIVATE_ADDRESS} (refused to connect to {} resolved from {}: private or reserved address)",
            self.addr, self.host
        )
    }
}

impl std::error::Error for Refused {}

/// The system resolver, refusing a host when any of its addresses is forbidden.
#[derive(Debug, Default)]
pub(super) struct GuardedResolver {
    inner: DefaultResolver,
    /// Whether forbidden addresses may be dialled (`allow_private_addresses`).
    allow_private: bool,
    /// Exact socket addresses let through although forbidden (tests only; empty in kith).
    exempt: Vec<SocketAddr>,
}

impl GuardedResolver {
    /// A resolver that refuses forbidden addresses unless `allow_private`.
    pub(super) fn new(allow_private: bool) -> GuardedResolver {
        GuardedResolver {
            allow_private,
            ..GuardedResolver::default()
        }
    }

    /// A refusing resolver that lets exactly the given socket addresses through, so
    /// tests can show the per-hop check against loopback servers.
    #[cfg(test)]
    pub(super) fn strict_except(exempt: Vec<SocketAddr>) -> GuardedResolver {
        GuardedResolver {
            exempt,
            ..GuardedResolver::default()
        }
    }

    fn first_forbidden(&self, addrs: &[SocketAddr]) -> Option<IpAddr> {
        if self.allow_private {
            return None;
        }
        addrs
            .iter()
            .find(|a| is_forbidden_ip(a.ip()) && !self.exempt.contains(a))
            .map(SocketAddr::ip)
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        match self.first_forbidden(&addrs) {
            None => Ok(addrs),
            Some(addr) => Err(ureq::Error::Other(Box::new(Refused {
                host: uri.host().unwrap_or_default().to_string(),
                addr,
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SECURITY.md "How to test these" 3: one address inside each range and the
    /// nearest outside.
    #[test]
    fn sec_32_33_forbidden_ranges() {
        let table: &[(&str, bool)] = &[
            ("0.0.0.0", true),
            ("0.255.255.255", true),
            ("1.0.0.0", false),
            ("9.255.255.255", false),
            ("10.0.0.0", true),
            ("10.1.2.3", true),
            ("10.255.255.255", true),
            ("11.0.0.0", false),
            ("100.63.255.255", false),
            ("100.64.0.0", true),
            ("100.127.255.255", true),
            ("100.128.0.0", false),
            ("126.255.255.255", false),
            ("127.0.0.1", true),
            ("127.255.255.255", true),
            ("128.0.0.0", false),
            ("169.253.255.255", false),
            ("169.254.0.0", true),
            ("169.254.169.254", true),
            ("169.254.255.255", true),
            ("169.255.0.0", false),
            ("172.15.255.255", false),
            ("172.16.0.0", true),
            ("172.20.1.1", true),
            ("172.31.255.255", true),
            ("172.32.0.0", false),
            ("191.255.255.255", false),
            ("192.0.0.0", true),
            ("192.0.0.255", true),
            ("192.0.1.0", false),
            ("192.0.1.255", false),
            ("192.0.2.1", true),
            ("192.0.3.0", false),
            ("192.88.98.255", false),
            ("192.88.99.1", true),
            ("192.88.100.0", false),
            ("192.167.255.255", false),
            ("192.168.0.0", true),
            ("192.168.1.1", true),
            ("192.168.255.255", true),
            ("192.169.0.0", false),
            ("198.17.255.255", false),
            ("198.18.0.0", true),
            ("198.19.255.255", true),
            ("198.20.0.0", false),
            ("198.51.99.255", false),
            ("198.51.100.7", true),
            ("198.51.101.0", false),
            ("203.0.112.255", false),
            ("203.0.113.9", true),
            ("203.0.114.0", false),
            ("223.255.255.255", false),
            ("224.0.0.0", true),
            ("239.255.255.255", true),
            ("240.0.0.0", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("1.1.1.1", false),
            ("::", true),
            ("::1", true),
            ("::2", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::127.0.0.1", true),
            ("64:ff9b::808:808", true),
            ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2000::", false),
            ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001::", true),
            ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:200::", false),
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:db8::1", true),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:db9::", false),
            ("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2002::1", true),
            ("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2003::", false),
            ("2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", false),
            ("2620:4f:8000::1", true),
            ("2620:4f:8000:ffff:ffff:ffff:ffff:ffff", true),
            ("2620:4f:8001::", false),
            ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("4000::", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("ff02::1", true),
            ("2606:4700::1", false),
            ("2a00:1450:4001::200e", false),
        ];
        for &(text, forbidden) in table {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(is_forbidden_ip(ip), forbidden, "{text}");
        }
    }

    fn policy(extra: &str) -> UrlPolicy {
        let text = format!("public_url = \"https://kith.example\"\n{extra}");
        UrlPolicy::new(&Config::parse(&text).unwrap())
    }

    fn refusal(p: &UrlPolicy, url: &str) -> String {
        match p.check(url) {
            Err(Error::Network {
                message,
                transient: false,
            }) => message,
            other => panic!("{url:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn sec_36_38_22_check_url_refusals() {
        let strict = policy("");
        let table: &[(&str, &str)] = &[
            ("file:///etc/passwd", "only http and https"),
            ("data:text/plain,hi", "only http and https"),
            ("gopher://example.org/", "only http and https"),
            ("ftp://example.org/x", "only http and https"),
            ("javascript:alert(1)", "only http and https"),
            ("https:///x", "empty host"),
            ("https:////example.org/", "empty host"),
            ("https:\\\\example.org\\x", "empty host"),
            ("https:example.org", "empty host"),
            ("https://example.org\\@evil.org/", "empty host"),
            ("https://", "not a URL"),
            ("", "empty"),
            ("relative/path", "not a URL"),
            (
                "https://example.org/a\r\nX-Injected: 1",
                "control characters",
            ),
            ("https://example.org/a\nb", "control characters"),
            ("https://exa\tmple.org/", "control characters"),
            ("https://example.org/a b", "whitespace"),
            ("https://example.org/\u{7f}", "control characters"),
            (" https://example.org/", "whitespace"),
            ("https://abc.onion/", "hidden-service"),
            ("https://abc.ONION./", "hidden-service"),
            ("https://x.i2p/", "hidden-service"),
            ("https://user@example.org/", "user-info"),
            ("https://user:pw@example.org/", "user-info"),
            ("https://:pw@example.org/", "user-info"),
            ("https://kith.example/users/me", "own URLs"),
            ("https://KITH.example./users/me", "own URLs"),
            ("https://kith.example:8443/", "own URLs"),
            ("http://example.org/", "plain http"),
            ("https://127.0.0.1/", "private or reserved"),
            ("https://2130706433/", "private or reserved"),
            ("https://[::1]/", "private or reserved"),
            ("https://[::ffff:10.0.0.1]/", "private or reserved"),
            (
                "https://169.254.169.254/latest/meta-data",
                "private or reserved",
            ),
        ];
        for &(url, why) in table {
            let message = refusal(&strict, url);
            assert!(message.contains(why), "{url:?}: {message}");
        }
    }

    #[test]
    fn check_url_accepts_public_https() {
        let strict = policy("");
        for url in [
            "https://example.org/users/alice",
            "https://Example.ORG/users/alice#main-key",
            "https://example.org:8443/x?y=z",
            "https://8.8.8.8/x",
            "https://[2606:4700::1]/x",
            "https://bücher.example/x",
        ] {
            assert!(strict.check(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn allow_private_permits_http_and_private_literals_only() {
        let lax = policy("[federation]\nallow_private_addresses = true");
        assert!(lax.check("http://127.0.0.1:8003/users/bob").is_ok());
        assert!(lax.check("http://[::1]:8003/").is_ok());
        assert!(lax.check("http://localhost:8003/").is_ok());
        // Another port on kith's own host is another instance when testing on loopback.
        assert!(lax.check("https://kith.example:8443/").is_ok());
        assert!(refusal(&lax, "https://kith.example/").contains("own URLs"));
        assert!(refusal(&lax, "file:///etc/passwd").contains("only http and https"));
        assert!(refusal(&lax, "http://abc.onion/").contains("hidden-service"));
        assert!(refusal(&lax, "http://a@127.0.0.1/").contains("user-info"));
    }

    #[test]
    fn resolver_refuses_when_any_address_is_forbidden() {
        let strict = GuardedResolver::new(false);
        let mixed: Vec<SocketAddr> =
            vec!["8.8.8.8:443".parse().unwrap(), "[::1]:443".parse().unwrap()];
        assert_eq!(strict.first_forbidden(&mixed), Some("::1".parse().unwrap()));
        assert_eq!(strict.first_forbidden(&mixed[..1]), None);
        let lax = GuardedResolver::new(true);
        assert_eq!(lax.first_forbidden(&mixed), None);
        let exempt = GuardedResolver::strict_except(vec!["127.0.0.1:80".parse().unwrap()]);
        let lo: Vec<SocketAddr> = vec!["127.0.0.1:80".parse().unwrap()];
        assert_eq!(exempt.first_forbidden(&lo), None);
        let other_port: Vec<SocketAddr> = vec!["127.0.0.1:81".parse().unwrap()];
        assert_eq!(
            exempt.first_forbidden(&other_port),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}

//! Domain names that people type (a domain to block, in a form, the API or a CSV file),
//! brought to the form in which hosts arrive from the network: remote URLs are parsed
//! by the `url` crate, which lower-cases names and turns international ones into their
//! ASCII (punycode) form, so a block typed as `bücher.example` must be kept as
//! `xn--bcher-kva.example` to ever match.

/// The ASCII, lower-case form of a domain name (or IPv4 address) typed by a person, with
/// no trailing dot; None when it is not one (paths, ports, user parts, spaces, IPv6).
pub fn normalize(input: &str) -> Option<String> {
    let typed = input.trim().trim_end_matches('.');
    if typed.is_empty() || typed.len() > 253 || typed.contains(['/', ' ', '@', ':', '?', '#']) {
        return None;
    }
    match url::Host::parse(typed).ok()? {
        url::Host::Domain(name) if name.len() <= 253 => Some(name),
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        _ => None,
    }
}

/// The host of a `host` or `host:port` string; an IPv6 literal keeps its brackets.
pub fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        host.split(':').next().unwrap_or(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_domains_take_the_network_form() {
        assert_eq!(
            normalize(" Evil.Example. ").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            normalize("Bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(normalize("192.0.2.7").as_deref(), Some("192.0.2.7"));
        for bad in [
            "",
            ".",
            "evil.example/path",
            "evil.example:443",
            "me@evil.example",
            "evil example",
            "[::1]",
            "evil.example?x",
            "a\u{0}b.example",
            &"a".repeat(254),
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ports_come_off() {
        assert_eq!(without_port("evil.example:8443"), "evil.example");
        assert_eq!(without_port("evil.example"), "evil.example");
        assert_eq!(without_port("[2001:db8::1]:443"), "[2001:db8::1]");
        assert_eq!(without_port("[2001:db8::1]"), "[2001:db8::1]");
    }
}

//! Domain names that people type (a domain to block, in a form, the API or a CSV file),
//! brought to the form in which hosts arrive from the network: remote URLs are parsed
//! by the `url` crate, which lower-cases names and turns international ones into their
//! ASCII (punycode) form, so a block typed as `bücher.example` must be kept as
//! `xn--bcher-kva.example` to ever match.

/// The ASCII, lower-case form of a domain name or IP address typed by a person, with no
/// trailing dot and IPv6 in brackets (as hosts arrive); a leading `*.` is dropped, since
/// a block covers subdomains anyway. None when it is not one (paths, ports, user
/// parts, spaces, wildcards elsewhere).
pub fn normalize(input: &str) -> Option<String> {
    let typed = input.trim();
    let typed = typed.strip_prefix("*.").unwrap_or(typed);
    if let Ok(ip) = typed
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(typed)
        .parse::<std::net::Ipv6Addr>()
    {
        return Some(format!("[{ip}]"));
    }
    if typed.is_empty() || typed.len() > 253 || typed.contains(['/', ' ', '@', ':', '?', '#', '*'])
    {
        return None;
    }
    let name = match url::Host::parse(typed).ok()? {
        url::Host::Domain(name) => name,
        url::Host::Ipv4(ip) => return Some(ip.to_string()),
        url::Host::Ipv6(ip) => return Some(format!("[{ip}]")),
    };
    // After the mapping: full stops of other scripts have become dots by now.
    let name = name.trim_end_matches('.');
    (!name.is_empty() && name.len() <= 253).then(|| name.to_string())
}

/// The stored forms a typed domain may have, to remove a block by: its normal form,
/// and the text as typed (blocks stored before normalisation kept that).
pub fn stored_forms(input: &str) -> Vec<String> {
    let raw = input.trim().trim_end_matches('.').to_ascii_lowercase();
    let mut forms: Vec<String> = normalize(input).into_iter().collect();
    if !raw.is_empty() && !forms.contains(&raw) {
        forms.push(raw);
    }
    forms
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
        let cases = [
            (" Evil.Example. ", "evil.example"),
            ("Bücher.example", "xn--bcher-kva.example"),
            ("192.0.2.7", "192.0.2.7"),
            ("*.evil.example", "evil.example"),
            ("2001:DB8::1", "[2001:db8::1]"),
            ("[2001:db8:0::1]", "[2001:db8::1]"),
            // An ideographic full stop at the end is a trailing dot once mapped.
            ("localhost\u{3002}", "localhost"),
        ];
        for (typed, stored) in cases {
            assert_eq!(normalize(typed).as_deref(), Some(stored), "{typed:?}");
        }
        for bad in [
            "",
            ".",
            "*.",
            "evil.example/path",
            "evil.example:443",
            "[2001:db8::1]:443",
            "me@evil.example",
            "evil example",
            "evil.*.example",
            "evil.example?x",
            "a\u{0}b.example",
            &"a".repeat(254),
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn blocks_are_removed_in_either_form() {
        assert_eq!(
            stored_forms("Bücher.example"),
            ["xn--bcher-kva.example", "bücher.example"]
        );
        assert_eq!(stored_forms("evil.example"), ["evil.example"]);
        assert_eq!(stored_forms("evil.example:8443"), ["evil.example:8443"]);
        assert!(stored_forms("  ").is_empty());
    }

    #[test]
    fn ports_come_off() {
        assert_eq!(without_port("evil.example:8443"), "evil.example");
        assert_eq!(without_port("evil.example"), "evil.example");
        assert_eq!(without_port("[2001:db8::1]:443"), "[2001:db8::1]");
        assert_eq!(without_port("[2001:db8::1]"), "[2001:db8::1]");
    }
}

//! What the fetcher does with answers: size caps, content types, statuses and
//! `Retry-After`, header injection through a signer, deadlines, and the small helpers.

use super::*;

#[test]
fn sec_40_a_larger_content_length_is_refused_without_reading() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 2000000\r\n\r\n{";
        Reply::Stall(head.as_bytes().to_vec())
    });
    let timeouts = Timeouts {
        io: Duration::from_secs(8),
        total: Duration::from_secs(20),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = refusal(f.get_activity(&remote.url("/big"), None));
    assert!(m.contains("larger than 1048576 bytes"), "{m}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "waited for the body"
    );
    let m = refusal(f.get_media(&remote.url("/big"), 1000));
    assert!(m.contains("larger than 1000 bytes"), "{m}");
}

#[test]
fn sec_40_46_reading_stops_past_the_cap() {
    let remote = FakeRemote::start(|req| {
        let len = match req.path.as_str() {
            "/huge" => JSON_MAX_BYTES as usize + 100,
            "/eleven" => 11,
            _ => 10,
        };
        // No Content-Length: the body ends when the connection closes.
        let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                          Connection: close\r\n\r\n"
            .to_vec();
        bytes.resize(bytes.len() + len, b' ');
        Reply::Bytes(bytes)
    });
    let f = lax();
    let m = refusal(f.get_activity(&remote.url("/huge"), None));
    assert!(m.contains("larger than 1048576 bytes"), "{m}");
    let m = refusal(f.get_media(&remote.url("/eleven"), 10));
    assert!(m.contains("larger than 10 bytes"), "{m}");
    let fetched = f.get_media(&remote.url("/ten"), 10).unwrap();
    assert_eq!(fetched.body.len(), 10);
}

#[test]
fn sec_24_content_types_are_checked() {
    let remote = FakeRemote::start(|req| {
        let ct = match req.path.as_str() {
            "/as" => "application/activity+json; charset=utf-8",
            "/ld" => "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "/ld-plain" => "Application/LD+JSON",
            "/jrd" => "application/jrd+json",
            "/json" => "application/json",
            "/html" => "text/html",
            "/png" => "image/png",
            _ => "",
        };
        let headers: Vec<(&str, &str)> = if ct.is_empty() {
            Vec::new()
        } else {
            vec![("Content-Type", ct)]
        };
        Reply::Bytes(response(200, &headers, b"{}"))
    });
    let f = lax();
    for ok in ["/as", "/ld", "/ld-plain"] {
        assert!(f.get_activity(&remote.url(ok), None).is_ok(), "{ok}");
    }
    for bad in ["/json", "/html", "/png", "/none", "/jrd"] {
        let m = refusal(f.get_activity(&remote.url(bad), None));
        assert!(m.contains("unexpected Content-Type"), "{bad}: {m}");
    }
    for ok in ["/jrd", "/json", "/as"] {
        assert!(f.get_json(&remote.url(ok)).is_ok(), "{ok}");
    }
    for bad in ["/html", "/ld", "/none"] {
        assert!(refusal(f.get_json(&remote.url(bad))).contains("unexpected Content-Type"));
    }
    let media = f.get_media(&remote.url("/png"), 100).unwrap();
    assert_eq!(media.content_type, "image/png");
    assert_eq!(
        f.get_media(&remote.url("/none"), 100).unwrap().content_type,
        ""
    );
    let accepts: Vec<String> = remote
        .requests()
        .iter()
        .filter_map(|r| r.header("accept").map(String::from))
        .collect();
    assert!(accepts.contains(&JSON_ACCEPT.to_string()));
    assert!(accepts.contains(&"*/*".to_string()));
}

#[test]
fn statuses_map_to_errors() {
    let remote = FakeRemote::start(|req| {
        let status: u16 = req.path.trim_start_matches('/').parse().unwrap_or(500);
        Reply::Bytes(response(
            status,
            &[("Content-Type", "application/activity+json")],
            b"{}",
        ))
    });
    let f = lax();
    match f.get_activity(&remote.url("/410"), None) {
        Err(Error::Gone(m)) => assert_eq!(m, "Gone"),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    for status in [400, 401, 403, 404, 406, 304] {
        let m = refusal(f.get_activity(&remote.url(&format!("/{status}")), None));
        assert!(m.contains(&format!("answered {status}")), "{m}");
    }
    for status in [408, 429, 500, 502, 503] {
        let m = transient(f.get_activity(&remote.url(&format!("/{status}")), None));
        assert!(m.contains(&format!("answered {status}")), "{m}");
    }
    assert_eq!(
        f.get_activity(&remote.url("/203"), None).unwrap().status,
        203
    );
}

#[test]
fn post_activity_returns_status_and_retry_after() {
    let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let remote = FakeRemote::start(move |req| match req.path.as_str() {
        "/inbox" => Reply::Bytes(response(202, &[], b"accepted")),
        "/busy" => Reply::Bytes(response(429, &[("Retry-After", "120")], b"")),
        "/down" => Reply::Bytes(response(503, &[("Retry-After", later.as_str())], b"")),
        "/bare503" => Reply::Bytes(response(503, &[], b"")),
        "/moved" => redirect(301, "/inbox"),
        _ => Reply::Bytes(response(410, &[("Retry-After", "5")], b"gone")),
    });
    let host = remote.addr.to_string();
    let calls = Mutex::new(Vec::new());
    let signer = |method: &str, url: &Url, body: Option<&[u8]>| {
        calls.lock().unwrap().push((
            method.to_string(),
            url.to_string(),
            body.map(<[u8]>::to_vec),
        ));
        vec![
            ("Host".to_string(), host.clone()),
            ("Digest".to_string(), "SHA-256=abc".to_string()),
            ("Signature".to_string(), "sig".to_string()),
        ]
    };
    let f = lax();
    let body = br#"{"type":"Follow"}"#;
    let posted = f
        .post_activity(&remote.url("/inbox"), body, &signer)
        .unwrap();
    assert_eq!(
        posted,
        Posted {
            status: 202,
            retry_after: None
        }
    );
    let busy = f
        .post_activity(&remote.url("/busy"), body, &signer)
        .unwrap();
    assert_eq!(
        busy,
        Posted {
            status: 429,
            retry_after: Some(Duration::from_secs(120))
        }
    );
    let down = f
        .post_activity(&remote.url("/down"), body, &signer)
        .unwrap();
    assert_eq!(down.status, 503);
    let wait = down.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    let bare = f
        .post_activity(&remote.url("/bare503"), body, &signer)
        .unwrap();
    assert_eq!(
        bare,
        Posted {
            status: 503,
            retry_after: None
        }
    );
    let moved = f
        .post_activity(&remote.url("/moved"), body, &signer)
        .unwrap();
    assert_eq!(
        moved,
        Posted {
            status: 301,
            retry_after: None
        }
    );
    let gone = f
        .post_activity(&remote.url("/gone"), body, &signer)
        .unwrap();
    assert_eq!(
        gone,
        Posted {
            status: 410,
            retry_after: None
        }
    );

    let seen = remote.requests();
    assert_eq!(seen.len(), 6, "the 301 was not followed");
    let first = &seen[0];
    assert_eq!(
        (first.method.as_str(), first.body.as_slice()),
        ("POST", &body[..])
    );
    assert_eq!(first.header("content-type"), Some(ACTIVITY_CONTENT_TYPE));
    assert_eq!(first.header("digest"), Some("SHA-256=abc"));
    assert_eq!(first.header("signature"), Some("sig"));
    assert_eq!(
        (first.header("host"), first.count("host")),
        (Some(host.as_str()), 1)
    );
    let calls = calls.lock().unwrap();
    assert_eq!(
        calls[0],
        ("POST".into(), remote.url("/inbox"), Some(body.to_vec()))
    );
}

#[test]
fn sec_37_header_injection_through_a_signer_is_refused_unsent() {
    let (listener, addr) = silent_listener();
    let evil = |_: &str, _: &Url, _: Option<&[u8]>| {
        vec![("Signature".to_string(), "x\r\nX-Injected: 1".to_string())]
    };
    let f = lax();
    let url = format!("http://{addr}/inbox");
    refusal(f.post_activity(&url, b"{}", &evil));
    refusal(f.get_activity(&url, Some(&evil)));
    assert_never_connected(&listener);
}

#[test]
fn sec_41_a_stalled_body_hits_the_read_timeout() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 100\r\n\r\n{";
        Reply::Stall(head.as_bytes().to_vec())
    });
    let timeouts = Timeouts {
        io: Duration::from_millis(300),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = transient(f.get_activity(&remote.url("/drip"), None));
    assert!(
        m.to_lowercase().contains("timeout") || m.contains("timed out"),
        "{m}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn sec_41_the_total_deadline_bounds_a_steady_drip() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 1000\r\n\r\n";
        Reply::Drip(head.as_bytes().to_vec(), Duration::from_millis(50))
    });
    let timeouts = Timeouts {
        io: Duration::from_secs(2),
        total: Duration::from_millis(600),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = transient(f.get_activity(&remote.url("/drip"), None));
    assert!(
        m.to_lowercase().contains("timeout") || m.contains("timed out"),
        "{m}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn unreachable_peer_is_transient() {
    let (listener, addr) = silent_listener();
    drop(listener); // Nobody listens any more: the connection is refused.
    transient(lax().get_activity(&format!("http://{addr}/x"), None));
}

#[test]
fn webfinger_urls() {
    let s = strict();
    let url = s.webfinger_url("alice", "Example.ORG.").unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.org/.well-known/webfinger?resource=acct:alice@example.org"
    );
    let url = s.webfinger_url("a+b", "example.org:8443").unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.org:8443/.well-known/webfinger?resource=acct:a%2Bb@example.org:8443"
    );
    // Guard on: private hosts are refused, never looked up over http.
    assert!(refusal(s.webfinger_url("bob", "127.0.0.1:8003")).contains("private or reserved"));
    let l = lax();
    let url = l.webfinger_url("bob", "127.0.0.1:8003").unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:8003/.well-known/webfinger?resource=acct:bob@127.0.0.1:8003"
    );
    let url = l.webfinger_url("bob", "[::1]:8003").unwrap();
    assert!(url.as_str().starts_with("http://[::1]:8003/"), "{url}");
    let url = l.webfinger_url("carol", "8.8.8.8").unwrap();
    assert!(url.as_str().starts_with("https://8.8.8.8/"), "{url}");
    if ("localhost", 80).to_socket_addrs().is_ok() {
        let url = l.webfinger_url("bob", "localhost:8003").unwrap();
        assert!(url.as_str().starts_with("http://localhost:8003/"), "{url}");
    }
    for (user, host) in [
        ("", "example.org"),
        ("a b", "example.org"),
        ("a", ""),
        ("a", "example.org/path"),
        ("a", "x@example.org"),
        ("a", "example.org?q"),
        ("a", "exa mple.org"),
        ("a", "abc.onion"),
        ("a", "kith.example"),
    ] {
        refusal(s.webfinger_url(user, host));
    }
}

#[test]
fn retry_after_parsing() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let parse = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, value.parse().unwrap());
        retry_after(&headers, now)
    };
    assert_eq!(parse("0"), Some(Duration::ZERO));
    assert_eq!(parse(" 30 "), Some(Duration::from_secs(30)));
    let in_90 = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(parse(&in_90), Some(Duration::from_secs(90)));
    let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse(&past), Some(Duration::ZERO));
    assert_eq!(parse("soon"), None);
    assert_eq!(parse("-5"), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn signer_headers_replace_base_headers() {
    let merged = merge_headers(
        &[("Accept", "a"), ("Content-Type", "c")],
        vec![("accept".into(), "b".into()), ("Date".into(), "d".into())],
    );
    let expected: Vec<(String, String)> = [("Content-Type", "c"), ("accept", "b"), ("Date", "d")]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(merged, expected);
    assert_eq!(
        media_type(" Application/JSON ; charset=utf-8"),
        "application/json"
    );
    assert_eq!(percent_encode("a.b-c_d~e@f g"), "a.b-c_d~e%40f%20g");
}

#[test]
fn fetcher_is_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Fetcher>();
}

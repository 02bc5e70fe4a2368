//! The private-address guard at URL-check and dial time, and redirects re-checked
//! and re-signed per hop (SECURITY.md 32–36, 38, 22).

use super::*;

#[test]
fn sec_32_36_guard_on_refuses_loopback_before_any_connection() {
    let (listener, addr) = silent_listener();
    let f = strict();
    let m = refusal(f.get_activity(&format!("http://{addr}/actor"), None));
    assert!(m.contains("plain http"), "{m}");
    let m = refusal(f.get_json(&format!("https://{addr}/.well-known/nodeinfo")));
    assert!(
        m.contains("127.0.0.1 is a private or reserved address"),
        "{m}"
    );
    let m = refusal(f.get_media(
        &format!("https://[::ffff:{}]:{}/a.png", addr.ip(), addr.port()),
        10,
    ));
    assert!(m.contains("private or reserved"), "{m}");
    let m = refusal(f.post_activity(&format!("https://{addr}/inbox"), b"{}", &no_signature));
    assert!(m.contains("private or reserved"), "{m}");
    assert_never_connected(&listener);
}

#[test]
fn sec_32_34_dialler_refuses_a_name_resolving_to_loopback() {
    let (listener, addr) = silent_listener();
    let resolves = ("localhost", addr.port()).to_socket_addrs();
    if resolves.map(|mut a| a.next().is_none()).unwrap_or(true) {
        return; // No `localhost` entry on this machine: nothing to show.
    }
    let url = format!("https://localhost:{}/users/bob", addr.port());
    let m = refusal(strict().get_activity(&url, None));
    assert!(m.contains("refused to connect to"), "{m}");
    assert!(m.contains("127.0.0.1") || m.contains("::1"), "{m}");
    assert!(m.contains("private or reserved address"), "{m}");
    assert_never_connected(&listener);
}

#[test]
fn sec_32_dialler_refuses_literal_loopback_every_method() {
    let (listener, addr) = silent_listener();
    let f = dial_strict_except(Vec::new());
    let url = format!("http://{addr}/x");
    for m in [
        refusal(f.get_activity(&url, None)),
        refusal(f.get_json(&url)),
        refusal(f.get_media(&url, 10)),
        refusal(f.post_activity(&url, b"{}", &no_signature)),
    ] {
        assert!(m.contains("refused to connect to 127.0.0.1"), "{m}");
    }
    assert_never_connected(&listener);
}

#[test]
fn sec_35_redirects_are_followed_and_each_hop_resigned() {
    let remote = FakeRemote::start(|req| match req.path.as_str() {
        "/r0" => redirect(302, "/r1"),
        "/r1" => redirect(301, "r2"),
        "/r2" => redirect(303, "/r3?x=1#frag"),
        "/r3?x=1" => activity("{\"id\":\"r3\"}"),
        _ => Reply::Bytes(response(404, &[], b"")),
    });
    let signed = Mutex::new(Vec::new());
    let signer = |method: &str, url: &Url, body: Option<&[u8]>| {
        assert!(body.is_none());
        signed.lock().unwrap().push(format!("{method} {url}"));
        vec![
            ("Signature".to_string(), format!("sig {}", url.path())),
            (
                "Date".to_string(),
                "Tue, 20 Jan 2026 10:00:00 GMT".to_string(),
            ),
        ]
    };
    let fetched = lax()
        .get_activity(&remote.url("/r0#main-key"), Some(&signer))
        .unwrap();
    assert_eq!(fetched.final_url.as_str(), remote.url("/r3?x=1"));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, b"{\"id\":\"r3\"}");
    assert_eq!(fetched.content_type, "application/activity+json");
    let hops = ["/r0", "/r1", "/r2", "/r3?x=1"];
    let expected: Vec<String> = hops
        .iter()
        .map(|p| format!("GET {}", remote.url(p)))
        .collect();
    assert_eq!(*signed.lock().unwrap(), expected);
    let seen = remote.requests();
    assert_eq!(seen.len(), 4);
    for (req, path) in seen.iter().zip(hops) {
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, path);
        let sig_path = path.split('?').next().unwrap();
        assert_eq!(
            req.header("signature"),
            Some(format!("sig {sig_path}").as_str())
        );
        assert_eq!(req.header("accept"), Some(ACTIVITY_ACCEPT));
        assert_eq!(
            req.header("user-agent"),
            Some("kith/0.1.0 (+https://kith.example/)")
        );
    }
}

#[test]
fn sec_35_a_fourth_redirect_is_refused() {
    let remote = FakeRemote::start(|req| {
        let n: u32 = req.path.trim_start_matches("/a").parse().unwrap_or(99);
        redirect(
            if n.is_multiple_of(2) { 307 } else { 308 },
            &format!("/a{}", n + 1),
        )
    });
    let m = refusal(lax().get_json(&remote.url("/a0")));
    assert!(m.contains("more than 3 redirects"), "{m}");
    let paths: Vec<String> = remote.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a0", "/a1", "/a2", "/a3"]);
}

#[test]
fn sec_35_36_38_22_each_redirect_target_is_rechecked() {
    let remote = FakeRemote::start(|req| match req.path.as_str() {
        "/file" => redirect(302, "file:///etc/passwd"),
        "/gopher" => redirect(302, "gopher://127.0.0.1:70/"),
        "/onion" => redirect(302, "http://abcdefghij.onion/actor"),
        "/self" => redirect(302, "https://kith.example/users/me"),
        "/userinfo" => redirect(302, "http://admin:pw@127.0.0.1/"),
        "/space" => redirect(302, "/a b"),
        "/backslash" => redirect(302, "\\\\127.0.0.1\\x"),
        _ => Reply::Bytes(response(302, &[], b"")),
    });
    let f = lax();
    let cases = [
        ("/file", "only http and https"),
        ("/gopher", "only http and https"),
        ("/onion", "hidden-service"),
        ("/self", "own URLs"),
        ("/userinfo", "user-info"),
        ("/space", "control characters"),
        ("/backslash", "backslash"),
        ("/no-location", "without a usable Location"),
    ];
    for (path, why) in cases {
        let m = refusal(f.get_activity(&remote.url(path), None));
        assert!(m.contains(why), "{path}: {m}");
    }
    assert_eq!(remote.requests().len(), cases.len());
}

#[test]
fn sec_34_35_redirect_to_a_forbidden_address_is_refused_at_dial_time() {
    let (other, other_addr) = silent_listener();
    let location = format!("http://{other_addr}/stolen");
    let remote = FakeRemote::start(move |req| match req.path.as_str() {
        "/ok" => activity("{}"),
        _ => redirect(302, &location),
    });
    let f = dial_strict_except(vec![remote.addr]);
    assert!(f.get_activity(&remote.url("/ok"), None).is_ok());
    let m = refusal(f.get_activity(&remote.url("/jump"), None));
    assert!(
        m.contains(&format!("refused to connect to {}", other_addr.ip())),
        "{m}"
    );
    assert!(m.contains("/stolen"), "{m}");
    assert_never_connected(&other);
    assert_eq!(remote.requests().len(), 2);
}

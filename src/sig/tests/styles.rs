//! How real peers sign (draft-cavage styles), public keys in every PEM form, the
//! small helpers and the structured-field dictionaries.

use super::*;

#[test]
fn cavage_round_trips_and_peer_styles() {
    let pair = key(KEY_A);
    let inbox = url("https://kith.example/users/me/inbox");
    let signed = sign(
        &pair,
        KEY_ID,
        &outgoing("POST", &inbox, Some(FOLLOW)),
        NOW + 86400,
    );
    assert_ne!(signed[1].1, DATE, "a fresh Date for every attempt");
    received("POST", &inbox, &signed, FOLLOW)
        .run(NOW + 86400)
        .unwrap();
    assert_row(
        "a day-old signature",
        received("POST", &inbox, &signed, FOLLOW).run(NOW + 2 * 86400),
        WINDOW,
    );
    // Host carries the port when it is not the default one.
    let local = url("http://localhost:8001/users/me?x=1");
    let signed = sign(&pair, KEY_ID, &outgoing("GET", &local, None), NOW);
    assert_eq!(
        signed[0],
        ("Host".to_string(), "localhost:8001".to_string())
    );
    let req = received("GET", &local, &signed, b"");
    let checked = check(
        &req.incoming(),
        "http://localhost:8001",
        "localhost:8001",
        NOW,
    )
    .unwrap();
    verify(&checked, KEY_A_PEM).unwrap();
    assert_row("port mismatch", req.check(NOW), WRONG_HOST);
    let default_port = url("https://kith.example:443/users/me");
    let signed = sign(&pair, KEY_ID, &outgoing("GET", &default_port, None), NOW);
    assert_eq!(signed[0].1, DOMAIN);
    // A GET without Accept signs only what it sends.
    let bare = Outgoing {
        method: "GET",
        url: &default_port,
        accept: None,
        content_type: None,
        body: None,
    };
    let signed = sign(&pair, KEY_ID, &bare, NOW);
    assert!(
        signed[2]
            .1
            .contains("headers=\"(request-target) host date\"")
    );
    let spaced = format!(
        "keyId = \"{KEY_ID}\" ,algorithm=\"rsa-sha256\",\theaders =\"{POST_NAMES}\" , signature= \"{POST_SIGNATURE}\""
    );
    let rows: Vec<(&str, Req)> = vec![
        (
            "GoToSocial hs2019",
            cavage(post_at(DATE), POST_NAMES, "algorithm=\"hs2019\""),
        ),
        (
            "snac GET with a signed Digest",
            cavage(
                get_at(DATE).with("digest", &digest_header(b"")),
                "(request-target) host digest date",
                RSA,
            ),
        ),
        (
            "snac GET whose Digest is not of the (empty) body",
            cavage(
                get_at(DATE).with("digest", FOLLOW_DIGEST),
                "(request-target) host digest date",
                RSA,
            ),
        ),
        (
            "pasture POST, lower-case digest",
            cavage(
                post_at(DATE).with("digest", &format!("sha-256={}", &FOLLOW_DIGEST[8..])),
                POST_NAMES,
                RSA,
            ),
        ),
        (
            "extra signed headers",
            cavage(
                signed_get().with("user-agent", "bovine"),
                "(request-target) host date accept user-agent",
                RSA,
            ),
        ),
        (
            "a header sent twice is signed joined",
            cavage(get_at(DATE).also("accept", "text/html"), GET_NAMES, RSA),
        ),
        (
            "old node-http-signature prefix",
            signed_post().with(
                "signature",
                &format!("Signature {}", signed_post().value("signature")),
            ),
        ),
        (
            "spaces around = and ,",
            signed_post().with("signature", &spaced),
        ),
    ];
    for (case, req) in &rows {
        assert_row(case, req.run(NOW), "");
    }
    let joined = cavage(get_at(DATE).also("accept", "text/html"), GET_NAMES, RSA)
        .check(NOW)
        .unwrap();
    assert!(String::from_utf8_lossy(&joined.bases[0]).ends_with("activitystreams\", text/html"));
}

#[test]
fn public_keys_from_pem() {
    let ring_der = key(KEY_A).public().as_ref().to_vec();
    assert_eq!(rsa_public_key_der(KEY_A_PEM).unwrap(), ring_der);
    assert_eq!(rsa_public_key_der(KEY_A_PKCS1_PEM).unwrap(), ring_der);
    assert_eq!(
        rsa_public_key_der(&KEY_A_PEM.replace('\n', "\r\n")).unwrap(),
        ring_der
    );
    let one_line = KEY_A_PEM.replace('\n', " ");
    assert_eq!(rsa_public_key_der(&one_line).unwrap(), ring_der);
    assert_eq!(
        rsa_public_key_der(&format!("  junk before\n{KEY_A_PEM}")).unwrap(),
        ring_der
    );
    assert_ne!(rsa_public_key_der(KEY_B_PEM).unwrap(), ring_der);
    let mut lines: Vec<&str> = KEY_A_PEM.lines().collect();
    lines.remove(lines.len() - 2);
    let truncated = lines.join("\n");
    let mislabelled = KEY_A_PKCS1_PEM.replace("RSA PUBLIC KEY", "PUBLIC KEY");
    // A valid SPKI with a NULL appended inside its outer SEQUENCE.
    let body: String = KEY_A_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut der = STANDARD.decode(body).unwrap();
    assert_eq!(der[..4], [0x30, 0x82, 0x01, 0x22]);
    der[3] += 2;
    der.extend([0x05, 0x00]);
    let trailing = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    );
    let garbage = [
        "",
        "hello",
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n",
        KEY_A_PRIVATE_PEM,
        EC_PEM,
        &truncated,
        &mislabelled,
        &trailing,
    ];
    for pem in garbage {
        let err = rsa_public_key_der(pem).unwrap_err();
        assert_eq!(err.status(), 401, "{pem:?}");
        assert_eq!(
            err.public_message(),
            "Invalid public key: expected an RSA public key in PEM"
        );
    }
    let checked = signed_post().check(NOW).unwrap();
    verify(&checked, KEY_A_PKCS1_PEM).unwrap();
    assert_row(
        "EC key",
        verify(&checked, EC_PEM),
        "Invalid public key: expected an RSA public key in PEM",
    );
    assert_row(
        "another key",
        verify(&checked, KEY_B_PEM),
        &failed("rsa-sha256"),
    );
}

#[test]
fn helpers() {
    assert_eq!(digest_header(b""), format!("SHA-256={EMPTY_SHA256}"));
    assert_eq!(digest_header(FOLLOW), FOLLOW_DIGEST);
    assert_eq!(
        content_digest_header(b""),
        format!("sha-256=:{EMPTY_SHA256}:")
    );
    assert_eq!(http_date(NOW), DATE);
    assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(parse_http_date(DATE), Some(NOW));
    assert_eq!(
        parse_http_date("Wednesday, 20-Dec-23 10:00:00 GMT"),
        Some(NOW)
    );
    assert_eq!(parse_http_date("Wed Dec 20 10:00:00 2023"), Some(NOW));
    assert_eq!(parse_http_date("2023-12-20T10:00:00Z"), None);
    let owner = "https://remote.example/users/alice";
    assert_eq!(key_owner_url(KEY_ID), owner);
    assert_eq!(
        key_owner_url("https://REMOTE.example/users/alice#main-key"),
        owner
    );
    assert_eq!(key_owner_url(owner), owner);
    let gts = "https://gts.example/users/bob/main-key";
    assert_eq!(key_owner_url(gts), gts);
    assert_eq!(key_owner_url("not a url#key"), "not a url");
    assert_eq!(parse_seconds("1703066400"), Some(NOW));
    for bad in ["", "-1", "+1", "1.5", "1e3", "1234567890123456"] {
        assert_eq!(parse_seconds(bad), None, "{bad}");
    }
    assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert!(
        parse_cavage_pairs("a=\"x\\\"y\", b=tok")
            .is_some_and(|p| p[0].1 == "x\"y" && p[1].1 == "tok")
    );
}

#[test]
fn structured_field_dictionaries() {
    use sf::{Bare, Value};
    let members =
        sf::dictionary("a=1, b=\"x\\\"y\";p=?0, c=:AQID:,d, e=(\"x\" tok);q=-2, f=tok/x:y")
            .unwrap();
    let keys: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
    assert!(matches!(members[0].value, Value::Item(Bare::Int(1))));
    assert!(matches!(&members[1].value, Value::Item(Bare::Str(s)) if s == "x\"y"));
    assert_eq!(
        members[1].params,
        vec![("p".to_string(), Bare::Bool(false))]
    );
    assert!(matches!(&members[2].value, Value::Item(Bare::Bytes(b)) if b == &[1, 2, 3]));
    assert!(matches!(members[3].value, Value::Item(Bare::Bool(true))));
    assert!(matches!(&members[4].value, Value::Inner(items) if items.len() == 2));
    assert_eq!(members[4].raw, "(\"x\" tok);q=-2");
    assert_eq!(members[4].params, vec![("q".to_string(), Bare::Int(-2))]);
    assert!(matches!(&members[5].value, Value::Item(Bare::Token(t)) if t == "tok/x:y"));
    assert!(sf::dictionary("").unwrap().is_empty());
    assert!(sf::dictionary("s=(  \"a\"   \"b\" )").is_some());
    for bad in [
        "a=1,",
        "A=1",
        "a=(\"x\"\"y\")",
        "a=1.5",
        "a=1;p=1;p=2",
        "a=\"\u{e9}\"",
        "a=\"x\\y\"",
        "a=:AQID",
        "a=?2",
        "a=1 b=2",
        "a=1234567890123456",
        "a=(\"x\"",
    ] {
        assert!(sf::dictionary(bad).is_none(), "{bad}");
    }
}

//! RFC 9421 signatures: the test's own signer, the group A cases in this format,
//! round trips through `sign_rfc9421` and the specification's appendix example.

use super::*;

#[test]
fn rfc9421_cases() {
    let failed = failed("rsa-v1_5-sha256");
    let post = |params: &str| rfc9421(rfc_post(), &RFC_COMPONENTS, params);
    let get = |components: &[&str]| rfc9421(rfc_get(), components, &rfc_params(NOW));
    let good = || post(&rfc_params(NOW));
    let key_id = format!("keyid=\"{KEY_ID}\"");
    let input = good().value("signature-input").to_string();
    let second = input.replace("sig1=", "sig2=");
    let signature = good().value("signature").to_string();
    let expiring =
        |created: i64, expires: i64| post(&format!("{};expires={expires}", rfc_params(created)));
    let incompatible = |why: &str| format!("{INCOMPATIBLE}: {why}");
    let (need_keyid, other_component) = (
        incompatible("keyid and created are required"),
        incompatible("unsupported covered component"),
    );
    let empty_keyid = incompatible("empty keyid");
    let labels_differ = incompatible("Signature and Signature-Input labels differ");
    let no_signature = incompatible("Signature-Input without Signature");
    let not_bytes = incompatible("the signature is not a byte sequence");
    let not_inner = incompatible("Signature-Input is not an inner list");
    let bad_expires = incompatible("expires is not an integer");
    let tampered = format!(
        "Invalid Content-Digest value. Computed SHA-256 digest: {TAMPERED_SHA256}; given: {}",
        &FOLLOW_CONTENT_DIGEST[9..53]
    );
    let all_derived = [
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@path",
        "@query",
        "@request-target",
        "accept",
        "host",
    ];
    let rows: Vec<(&str, Req, &str)> = vec![
        ("POST round trip", good(), ""),
        ("GET round trip", get(&["@method", "@target-uri"]), ""),
        ("GET with every derived component", get(&all_derived), ""),
        (
            "no alg parameter",
            post(&format!(";created={NOW};{key_id}")),
            "",
        ),
        (
            "GET with the query dropped",
            get(&["@method", "@target-uri"]).at("/users/me/outbox"),
            &failed,
        ),
        (
            "GET with another query",
            get(&["@method", "@target-uri"]).at("/users/me/outbox?page=2"),
            &failed,
        ),
        ("another path", good().at("/inbox"), &failed),
        (
            "another method",
            get(&["@method", "@target-uri"]).method("HEAD"),
            &failed,
        ),
        (
            "signed by another key",
            good().with("signature", &signature.replace("sig1=:D", "sig1=:E")),
            &failed,
        ),
        (
            "missing created",
            post(&format!(";{key_id};alg=\"rsa-v1_5-sha256\"")),
            &need_keyid,
        ),
        (
            "missing keyid",
            post(&format!(";created={NOW}")),
            &need_keyid,
        ),
        (
            "keyid not a string",
            post(&format!(";created={NOW};keyid=abc")),
            &need_keyid,
        ),
        (
            "created not an integer",
            post(&format!(";created=\"{NOW}\";{key_id}")),
            &need_keyid,
        ),
        (
            "empty keyid",
            post(&format!(";created={NOW};keyid=\"\"")),
            &empty_keyid,
        ),
        (
            "alg rsa-pss-sha512",
            post(&format!(";created={NOW};{key_id};alg=\"rsa-pss-sha512\"")),
            ALGORITHM_9421,
        ),
        (
            "alg ed25519",
            post(&format!(";created={NOW};{key_id};alg=\"ed25519\"")),
            ALGORITHM_9421,
        ),
        (
            "alg as a token",
            post(&format!(";created={NOW};{key_id};alg=rsa")),
            ALGORITHM_9421,
        ),
        (
            "@target-uri not covered",
            rfc9421(
                rfc_post(),
                &["@method", "@path", "content-digest"],
                &rfc_params(NOW),
            ),
            "kith requires the @target-uri component to be signed",
        ),
        (
            "@method not covered",
            rfc9421(
                rfc_post(),
                &["@target-uri", "content-digest"],
                &rfc_params(NOW),
            ),
            "kith requires the @method component to be signed",
        ),
        (
            "content-digest not covered on POST",
            rfc9421(rfc_post(), &["@method", "@target-uri"], &rfc_params(NOW)),
            "kith requires the content-digest component to be signed when doing a POST request",
        ),
        ("body tampered", good().body(TAMPERED), &tampered),
        (
            "body and Content-Digest replaced",
            good()
                .body(TAMPERED)
                .with("content-digest", &format!("sha-256=:{TAMPERED_SHA256}:")),
            &failed,
        ),
        (
            "Content-Digest with only sha-512",
            good().with("content-digest", "sha-512=:AAAA:"),
            "Only SHA-256 is supported in the Content-Digest header. Offered algorithms: sha-512",
        ),
        (
            "Content-Digest not a byte sequence",
            good().with("content-digest", "sha-256=abc"),
            "Invalid Content-Digest value. The provided Content-Digest value is not a valid \
             base64 string. Given digest: abc",
        ),
        (
            "Content-Digest junk",
            good().with("content-digest", "SHA-256=:x:"),
            "Invalid Content-Digest header",
        ),
        (
            "Content-Digest missing",
            good().without("content-digest"),
            "Content-Digest header missing",
        ),
        (
            "several digests",
            rfc9421(
                rfc_post().with(
                    "content-digest",
                    &format!("sha-512=:AAAA:, {FOLLOW_CONTENT_DIGEST}"),
                ),
                &RFC_COMPONENTS,
                &rfc_params(NOW),
            ),
            "",
        ),
        (
            "two signatures in one header",
            good().with("signature-input", &format!("{input}, {second}")),
            ONE_SIGNATURE,
        ),
        (
            "two Signature-Input lines",
            good().also("signature-input", &second),
            ONE_SIGNATURE,
        ),
        (
            "two Signature values",
            good().also("signature", &signature.replace("sig1=", "sig2=")),
            ONE_SIGNATURE,
        ),
        (
            "empty Signature-Input",
            good().with("signature-input", ""),
            ONE_SIGNATURE,
        ),
        (
            "labels differ",
            good().with("signature", &signature.replace("sig1=", "sig2=")),
            &labels_differ,
        ),
        (
            "Signature-Input without Signature",
            good().without("signature"),
            &no_signature,
        ),
        (
            "signature is a token",
            good().with("signature", "sig1=abc"),
            &not_bytes,
        ),
        (
            "Signature-Input is an item",
            good().with("signature-input", "sig1=\"@method\";created=1"),
            &not_inner,
        ),
        (
            "Signature junk",
            good().with("signature", "sig1=:abc"),
            "Error parsing Signature header",
        ),
        (
            "Signature-Input junk",
            good().with("signature-input", "sig1=(\"@method\""),
            "Error parsing Signature-Input header",
        ),
        (
            "a cavage Signature beside Signature-Input",
            signed_post().with("signature-input", &input),
            "Error parsing Signature header",
        ),
        (
            "component with parameters",
            good().with(
                "signature-input",
                &input.replace("\"@method\"", "\"@query-param\";name=\"Pet\""),
            ),
            &other_component,
        ),
        (
            "upper-case component",
            good().with(
                "signature-input",
                &input.replace("content-digest", "Content-Digest"),
            ),
            &other_component,
        ),
        (
            "repeated component",
            good().with(
                "signature-input",
                &input.replace("\"@target-uri\"", "\"@method\""),
            ),
            &other_component,
        ),
        (
            "@signature-params covered",
            get(&["@method", "@target-uri", "@signature-params"]),
            "Unsupported derived component @signature-params",
        ),
        (
            "unknown derived component",
            get(&["@method", "@target-uri", "@status"]),
            "Unsupported derived component @status",
        ),
        (
            "covered header missing",
            get(&["@method", "@target-uri", "accept"]).without("accept"),
            "Signed header accept is missing from the request",
        ),
        (
            "covered Host names another server",
            rfc9421(
                rfc_get().with("host", "evil.example"),
                &["@method", "@target-uri", "host"],
                &rfc_params(NOW),
            ),
            WRONG_HOST,
        ),
        ("created now-65min", post(&rfc_params(NOW - 3900)), ""),
        (
            "created now-65min-1s",
            post(&rfc_params(NOW - 3901)),
            WINDOW,
        ),
        ("created now+60min", post(&rfc_params(NOW + 3600)), ""),
        (
            "created now+60min+1s",
            post(&rfc_params(NOW + 3601)),
            WINDOW,
        ),
        (
            "expires, last second",
            expiring(NOW - 4 * 3600, NOW - 3600),
            "",
        ),
        (
            "expires, 1s late",
            expiring(NOW - 4 * 3600, NOW - 3601),
            WINDOW,
        ),
        (
            "expires capped at 12h",
            expiring(NOW - 13 * 3600 - 1, NOW + 86400),
            WINDOW,
        ),
        (
            "expires not an integer",
            post(&format!("{};expires=\"soon\"", rfc_params(NOW))),
            &bad_expires,
        ),
    ];
    for (case, req, want) in &rows {
        assert_row(case, req.run(NOW), want);
    }
}

#[test]
fn rfc9421_round_trips_through_sign_rfc9421() {
    let pair = key(KEY_A);
    for target in [
        "https://kith.example/users/me/outbox?page=true",
        "https://kith.example/users/me#frag",
    ] {
        let target = url(target);
        let signed = sign_rfc9421(&pair, KEY_ID, &outgoing("GET", &target, None), NOW);
        let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "Date", "Signature-Input", "Signature"]);
        received("GET", &target, &signed, b"").run(NOW).unwrap();
    }
    let local = url("http://localhost:8001/users/me/inbox");
    let signed = sign_rfc9421(&pair, KEY_ID, &outgoing("POST", &local, Some(b"{}")), NOW);
    let req = received("POST", &local, &signed, b"{}");
    let checked = check(
        &req.incoming(),
        "http://localhost:8001",
        "localhost:8001",
        NOW,
    )
    .unwrap();
    verify(&checked, KEY_A_PEM).unwrap();
    assert_eq!(verify(&checked, KEY_B_PEM).unwrap_err().status(), 401);
}

/// RFC 9421 Appendix B.2.3 ("Full Coverage"): kith rebuilds its signature base
/// byte for byte from the RFC's test-request.
#[test]
fn rfc9421_appendix_b_2_3_signature_base() {
    let digest = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    let req = Req::new("POST", "/foo?param=Value&Pet=dog")
        .with("host", "example.com")
        .with("date", "Tue, 20 Apr 2021 02:07:55 GMT")
        .with("content-type", "application/json")
        .with("content-digest", digest)
        .with("content-length", "18")
        .body(br#"{"hello": "world"}"#);
    let input = "sig-b23=(\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \
                 \"content-type\" \"content-digest\" \"content-length\")\
                 ;created=1618884473;keyid=\"test-key-rsa-pss\"";
    let (parsed, _) = parse_rfc9421(input, "sig-b23=:AAAA:").unwrap();
    let base = rfc9421_base(
        &parsed,
        &req.incoming(),
        "https://example.com",
        "example.com",
    )
    .unwrap();
    let want = format!(
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
         \"@method\": POST\n\
         \"@path\": /foo\n\
         \"@query\": ?param=Value&Pet=dog\n\
         \"@authority\": example.com\n\
         \"content-type\": application/json\n\
         \"content-digest\": {digest}\n\
         \"content-length\": 18\n\
         \"@signature-params\": {}",
        &input[8..]
    );
    assert_eq!(String::from_utf8(base).unwrap(), want);
}

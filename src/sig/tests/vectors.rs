//! Fixed vectors made with openssl over literal strings: `sign` and `sign_rfc9421`
//! reproduce them and the verifier accepts them.

use super::*;

#[test]
fn fixed_cavage_post_vector_is_reproduced_and_verified() {
    let target = url("https://kith.example/users/me/inbox");
    let signed = sign(
        &key(KEY_A),
        KEY_ID,
        &outgoing("POST", &target, Some(FOLLOW)),
        NOW,
    );
    let signature = format!(
        "keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",\
         headers=\"{POST_NAMES}\",signature=\"{POST_SIGNATURE}\""
    );
    let want = [
        ("Host", DOMAIN),
        ("Date", DATE),
        ("Digest", FOLLOW_DIGEST),
        ("Signature", &signature),
    ];
    assert_eq!(signed, pairs(&want));
    // The literal request, as a peer would send it.
    let literal = post_at(DATE).with("signature", &signature);
    let checked = literal.check(NOW).unwrap();
    assert_eq!(checked.scheme, Scheme::Cavage);
    assert_eq!(checked.key_id, KEY_ID);
    assert_eq!(checked.bases, vec![POST_STRING.as_bytes().to_vec()]);
    verify(&checked, KEY_A_PEM).unwrap();
    // The test's own signer agrees too.
    let own = signed_post();
    assert!(
        own.value("signature")
            .ends_with(&format!("signature=\"{POST_SIGNATURE}\""))
    );
    received("POST", &target, &signed, FOLLOW).run(NOW).unwrap();
}

#[test]
fn fixed_cavage_get_vector_is_reproduced_and_verified() {
    let target = url("https://kith.example/users/me/outbox?page=true");
    let signed = sign(&key(KEY_A), KEY_ID, &outgoing("GET", &target, None), NOW);
    let signature = format!(
        "keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",\
         headers=\"{GET_NAMES}\",signature=\"{GET_SIGNATURE}\""
    );
    let want = [("Host", DOMAIN), ("Date", DATE), ("Signature", &signature)];
    assert_eq!(signed, pairs(&want));
    let literal = get_at(DATE).with("signature", &signature);
    let checked = literal.check(NOW).unwrap();
    assert_eq!(checked.bases[0], GET_STRING.as_bytes());
    assert_eq!(
        checked.bases[1],
        GET_STRING.replace("?page=true", "").as_bytes(),
        "second try: without the query"
    );
    verify(&checked, KEY_A_PEM).unwrap();
    verify(&checked, KEY_A_PKCS1_PEM).unwrap();
    received("GET", &target, &signed, b"").run(NOW).unwrap();
}

#[test]
fn fixed_rfc9421_vector_is_reproduced_and_verified() {
    let target = url("https://kith.example/users/me/inbox");
    let post = outgoing("POST", &target, Some(FOLLOW));
    let signed = sign_rfc9421(&key(KEY_A), KEY_ID, &post, NOW);
    let input = format!("sig1={RFC_INPUT}");
    let signature = format!("sig1=:{RFC_SIGNATURE}:");
    let want = [
        ("Host", DOMAIN),
        ("Date", DATE),
        ("Content-Digest", FOLLOW_CONTENT_DIGEST),
        ("Signature-Input", &input),
        ("Signature", &signature),
    ];
    assert_eq!(signed, pairs(&want));
    let literal = Req::new("POST", "/users/me/inbox")
        .with("host", DOMAIN)
        .with("content-type", AS_JSON)
        .with("content-digest", FOLLOW_CONTENT_DIGEST)
        .with("signature-input", &input)
        .with("signature", &signature)
        .body(FOLLOW);
    let checked = literal.check(NOW).unwrap();
    assert_eq!(checked.scheme, Scheme::Rfc9421);
    assert_eq!(checked.key_id, KEY_ID);
    assert_eq!(checked.bases, vec![RFC_BASE.as_bytes().to_vec()]);
    verify(&checked, KEY_A_PEM).unwrap();
    let own = rfc9421(rfc_post(), &RFC_COMPONENTS, &rfc_params(NOW));
    assert_eq!(own.value("signature-input"), input);
    assert_eq!(own.value("signature"), signature);
    received("POST", &target, &signed, FOLLOW).run(NOW).unwrap();
}

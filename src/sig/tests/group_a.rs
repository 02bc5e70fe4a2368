//! SECURITY.md group A (cases 1–12) as one table for draft-cavage signatures.

use super::*;

#[test]
fn sec_01_to_12_group_a() {
    let failed = failed("rsa-sha256");
    let post = || post_at(DATE);
    let junk = |value: &str| post().with("signature", value);
    let sig = "signature=\"dGVzdA==\"";
    let key_id = format!("keyId=\"{KEY_ID}\"");
    let created_names = "(request-target) host (created) digest content-type";
    let expires_names = "(request-target) host (created) (expires) digest content-type";
    let expiring = |created: i64, expires: i64| {
        let params = format!("{},expires={expires}", hs2019(created));
        cavage(post(), expires_names, &params)
    };
    let lower = format!("sha-256={}", &FOLLOW_DIGEST[8..]);
    let several = format!("SHA-512=AAAA, {FOLLOW_DIGEST}");
    let wrong_then_right = format!("SHA-256={TAMPERED_SHA256},{FOLLOW_DIGEST}");
    let tampered_message = format!(
        "Invalid Digest value. Computed SHA-256 digest: {TAMPERED_SHA256}; given: {}",
        &FOLLOW_DIGEST[8..]
    );
    let get_no_query = cavage(get_at(DATE).at("/users/me/outbox"), GET_NAMES, RSA);
    let rows: Vec<(&str, Req, &str)> = vec![
        ("sec_01 POST without Signature", post(), NOT_SIGNED),
        ("sec_01 GET without Signature", get_at(DATE), NOT_SIGNED),
        (
            "sec_02 unquoted URL",
            junk("keyId=https://x/a,signature=\"x\""),
            PARSE_ERROR,
        ),
        (
            "sec_02 unterminated quote",
            junk("keyId=\"abc,signature=\"x\""),
            PARSE_ERROR,
        ),
        (
            "sec_02 trailing comma",
            junk(&format!("{key_id},{sig},")),
            PARSE_ERROR,
        ),
        (
            "sec_02 missing comma",
            junk(&format!("{key_id} {sig}")),
            PARSE_ERROR,
        ),
        ("sec_02 junk", junk("garbage"), PARSE_ERROR),
        ("sec_02 empty header", junk(""), PARSE_ERROR),
        (
            "sec_02 repeated keyId",
            junk(&format!("{key_id},{key_id},{sig}")),
            PARSE_ERROR,
        ),
        (
            "sec_02 control byte",
            junk(&format!("keyId=\"a\u{1}\",{sig}")),
            PARSE_ERROR,
        ),
        (
            "sec_02 no value",
            junk(&format!("keyId=,{sig}")),
            PARSE_ERROR,
        ),
        (
            "sec_03 no keyId",
            junk(&format!("{RSA},{sig}")),
            INCOMPATIBLE,
        ),
        (
            "sec_03 no signature",
            junk(&format!("{key_id},{RSA}")),
            INCOMPATIBLE,
        ),
        (
            "sec_03 empty keyId",
            junk(&format!("keyId=\"\",{sig}")),
            INCOMPATIBLE,
        ),
        (
            "sec_03 empty signature",
            junk(&format!("{key_id},signature=\"\"")),
            INCOMPATIBLE,
        ),
        (
            "sec_04 rsa-sha512",
            cavage(post(), POST_NAMES, "algorithm=\"rsa-sha512\""),
            ALGORITHM,
        ),
        (
            "sec_04 ed25519",
            cavage(post(), POST_NAMES, "algorithm=\"ed25519\""),
            ALGORITHM,
        ),
        (
            "sec_04 hmac-sha256",
            cavage(post(), POST_NAMES, "algorithm=\"hmac-sha256\""),
            ALGORITHM,
        ),
        (
            "sec_04 RSA-SHA256 upper case",
            cavage(post(), POST_NAMES, "algorithm=\"RSA-SHA256\""),
            "",
        ),
        (
            "sec_04 HS2019 upper case",
            cavage(post(), POST_NAMES, "algorithm=\"HS2019\""),
            "",
        ),
        ("sec_04 no algorithm", cavage(post(), POST_NAMES, ""), ""),
        (
            "sec_05 neither date nor (created)",
            cavage(post(), "(request-target) host digest content-type", RSA),
            "kith requires the Date header or (created) pseudo-header to be signed",
        ),
        (
            "sec_05 no headers parameter: only date is signed",
            junk(&format!("{key_id},{RSA},{sig}")),
            "kith requires the (request-target) pseudo-header to be signed",
        ),
        (
            "sec_05 (request-target) not signed",
            cavage(post(), "host date digest content-type", RSA),
            "kith requires the (request-target) pseudo-header to be signed",
        ),
        (
            "sec_06 POST without digest signed",
            cavage(post(), "(request-target) host date content-type", RSA),
            "kith requires the Digest header to be signed when doing a POST request",
        ),
        (
            "sec_07 body tampered",
            signed_post().body(TAMPERED),
            &tampered_message,
        ),
        (
            "sec_07 body and Digest both replaced",
            signed_post()
                .body(TAMPERED)
                .with("digest", &format!("SHA-256={TAMPERED_SHA256}")),
            &failed,
        ),
        (
            "sec_08 Digest not base64",
            signed_post().with("digest", "SHA-256=not base64!"),
            "Invalid Digest value. The provided Digest value is not a valid base64 string. \
             Given digest: not base64!",
        ),
        (
            "sec_08 Digest not 32 bytes",
            signed_post().with("digest", "SHA-256=AAAA"),
            "Invalid Digest value. The provided Digest value is not a SHA-256 digest. \
             Given digest: AAAA",
        ),
        (
            "sec_08 no SHA-256 entry",
            signed_post().with("digest", "SHA-512=AAAA, MD5=AAAA"),
            "Only SHA-256 is supported in the Digest header. Offered algorithms: SHA-512, MD5",
        ),
        (
            "sec_08 entry without =",
            signed_post().with("digest", "SHA-256"),
            "Invalid Digest header",
        ),
        (
            "sec_08 Digest header missing",
            signed_post().without("digest"),
            "Digest header missing",
        ),
        (
            "sec_08 lower-case sha-256",
            cavage(post().with("digest", &lower), POST_NAMES, RSA),
            "",
        ),
        (
            "sec_08 several algorithms",
            cavage(post().with("digest", &several), POST_NAMES, RSA),
            "",
        ),
        (
            "sec_08 a wrong SHA-256 entry beside the right one",
            cavage(post().with("digest", &wrong_then_right), POST_NAMES, RSA),
            "",
        ),
        (
            "sec_09 Date now-65min",
            cavage(post_at(&date(-3900)), POST_NAMES, RSA),
            "",
        ),
        (
            "sec_09 Date now-65min-1s",
            cavage(post_at(&date(-3901)), POST_NAMES, RSA),
            WINDOW,
        ),
        (
            "sec_09 created now-65min",
            cavage(post(), created_names, &hs2019(NOW - 3900)),
            "",
        ),
        (
            "sec_09 created now-65min-1s",
            cavage(post(), created_names, &hs2019(NOW - 3901)),
            WINDOW,
        ),
        (
            "sec_09 signed expires, last second",
            expiring(NOW - 4 * 3600, NOW - 3600),
            "",
        ),
        (
            "sec_09 signed expires, 1s late",
            expiring(NOW - 4 * 3600, NOW - 3601),
            WINDOW,
        ),
        (
            "sec_09 expires capped at 12h",
            expiring(NOW - 13 * 3600, NOW + 86400),
            "",
        ),
        (
            "sec_09 expires capped, 1s late",
            expiring(NOW - 13 * 3600 - 1, NOW + 86400),
            WINDOW,
        ),
        (
            "sec_09 unsigned expires is ignored",
            cavage(
                post_at(&date(-3901)),
                POST_NAMES,
                &format!("{RSA},expires={}", NOW + 86400),
            ),
            WINDOW,
        ),
        (
            "sec_09 unsigned created is ignored",
            cavage(post_at(&date(-3901)), POST_NAMES, &hs2019(NOW)),
            WINDOW,
        ),
        (
            "sec_09 (created) with rsa-sha256",
            cavage(post(), created_names, &format!("{RSA},created={NOW}")),
            "Invalid pseudo-header (created) for rsa-sha256",
        ),
        (
            "sec_09 (created) signed without a created parameter",
            junk(&format!(
                "{key_id},algorithm=\"hs2019\",headers=\"{created_names}\",{sig}"
            )),
            "Invalid (created) signature parameter",
        ),
        (
            "sec_10 Date unparsable",
            cavage(post_at("yesterday"), POST_NAMES, RSA),
            INVALID_DATE,
        ),
        (
            "sec_10 Date missing",
            signed_post().without("date"),
            INVALID_DATE,
        ),
        (
            "sec_10 Date now+60min",
            cavage(post_at(&date(3600)), POST_NAMES, RSA),
            "",
        ),
        (
            "sec_10 Date now+60min+1s",
            cavage(post_at(&date(3601)), POST_NAMES, RSA),
            WINDOW,
        ),
        (
            "sec_10 created now+60min",
            cavage(post(), created_names, &hs2019(NOW + 3600)),
            "",
        ),
        (
            "sec_10 created now+60min+1s",
            cavage(post(), created_names, &hs2019(NOW + 3601)),
            WINDOW,
        ),
        ("sec_11 another path", signed_post().at("/inbox"), &failed),
        (
            "sec_11 POST replayed as PUT",
            signed_post().method("PUT"),
            &failed,
        ),
        (
            "sec_11 GET replayed as HEAD",
            signed_get().method("HEAD"),
            &failed,
        ),
        (
            "sec_11 signed without the query",
            get_no_query.clone().at("/users/me/outbox?page=true"),
            "",
        ),
        (
            "sec_11 a different query",
            signed_get().at("/users/me/outbox?page=false"),
            &failed,
        ),
        (
            "sec_11 signed without the query, any query",
            get_no_query.at("/users/me/outbox?x=1"),
            "",
        ),
        (
            "sec_11 the query dropped",
            signed_get().at("/users/me/outbox"),
            &failed,
        ),
        (
            "sec_11 signed by another key",
            cavage_with(post(), KEY_B, POST_NAMES, RSA),
            &failed,
        ),
        (
            "sec_11 signature not base64",
            junk(&format!(
                "{key_id},{RSA},headers=\"{POST_NAMES}\",signature=\"@@\""
            )),
            "Invalid signature: not base64",
        ),
        (
            "sec_12 GET without host signed",
            cavage(get_at(DATE), "(request-target) date accept", RSA),
            "kith requires the Host header to be signed when doing a GET request",
        ),
        (
            "sec_12 Host names another server",
            cavage(get_at(DATE).with("host", "evil.example"), GET_NAMES, RSA),
            WRONG_HOST,
        ),
        (
            "sec_12 signed Host missing",
            signed_get().without("host"),
            WRONG_HOST,
        ),
        (
            "sec_12 Host compared case-insensitively",
            cavage(get_at(DATE).with("host", "Kith.Example"), GET_NAMES, RSA),
            "",
        ),
    ];
    for (case, req, want) in &rows {
        assert_row(case, req.run(NOW), want);
    }
}

//! The Settings page's profile form with pictures: the avatar and header chosen there
//! are stored and shown on the public profile, a bad picture changes nothing, and the
//! remove buttons go back to the placeholders.

use crate::support::Instance;
use crate::web::{Browser, count, password};

/// The `/media/NAME` path of the first `<img class="CLASS" src=…>` on a page.
fn image_src(body: &str, class: &str) -> Option<String> {
    let at = body.find(&format!("class=\"{class}\" src=\""))?;
    let rest = &body[at + class.len() + 14..];
    Some(rest[..rest.find('"')?].to_string())
}

#[test]
fn sec_72_settings_avatar_and_header_upload_show_on_the_profile_and_can_be_removed() {
    let k = Instance::start("owner", "");
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    let t = crate::web::csrf(&owner.get("/settings").body);
    let png = include_bytes!("../fixtures/media/alpha.png");
    let webp = include_bytes!("../fixtures/media/lossless.webp");
    let fields = [
        ("csrf", t.as_str()),
        ("back", "/settings"),
        ("display_name", "Owner"),
        ("note", "hello"),
    ];
    let got = owner.post_multipart(
        "/settings/profile",
        &fields,
        &[("avatar", "a.png", png), ("header", "h.webp", webp)],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    let avatar = count(
        &k,
        "SELECT count(*) FROM account WHERE avatar_path IS NOT NULL",
    );
    let header = count(
        &k,
        "SELECT count(*) FROM account WHERE header_path IS NOT NULL",
    );
    assert_eq!((avatar, header), (1, 1));
    let names: (String, String) = k.read(|c| {
        Ok(
            c.query_row("SELECT avatar_path, header_path FROM account", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?,
        )
    });
    // The public profile shows both, and the files are served.
    let profile = Browser::new(&k).get("/@owner");
    assert_eq!(
        image_src(&profile.body, "banner").as_deref(),
        Some(format!("/media/{}", names.1).as_str()),
        "{}",
        profile.body
    );
    assert_eq!(
        image_src(&profile.body, "avatar").as_deref(),
        Some(format!("/media/{}", names.0).as_str()),
        "{}",
        profile.body
    );
    for name in [&names.0, &names.1] {
        assert_eq!(Browser::new(&k).get(&format!("/media/{name}")).status, 200);
    }
    // The settings page shows the current pictures with remove buttons.
    let settings = owner.get("/settings");
    assert_eq!(
        image_src(&settings.body, "current-avatar").as_deref(),
        Some(format!("/media/{}", names.0).as_str())
    );
    assert!(settings.body.contains("Remove avatar"), "{}", settings.body);
    assert!(settings.body.contains("Remove header image"));

    // Saving the form again without files keeps both pictures.
    let got = owner.post_multipart("/settings/profile", &fields, &[("avatar", "", b"")]);
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM account WHERE avatar_path IS NOT NULL AND header_path IS NOT NULL"
        ),
        1
    );

    // Not a picture: refused with a message naming it, and the profile stays as it was.
    let got = owner.post_multipart(
        "/settings/profile",
        &[
            ("csrf", t.as_str()),
            ("display_name", "Changed"),
            ("note", "changed"),
        ],
        &[("avatar", "a.png", b"not a picture")],
    );
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(
        got.body.contains("The avatar was not saved"),
        "{}",
        got.body
    );
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM account WHERE display_name = 'Owner'"
        ),
        1
    );

    // Removing the avatar goes back to the placeholder; the header stays.
    let got = owner.post(
        "/settings/remove_image",
        &[("csrf", &t), ("which", "avatar")],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM account WHERE avatar_path IS NULL AND header_path IS NOT NULL"
        ),
        1
    );
    let got = owner.post("/settings/remove_image", &[("csrf", &t), ("which", "nose")]);
    assert_eq!(got.status, 422);
    assert!(got.body.contains("avatar or header"), "{}", got.body);
    let settings = owner.get("/settings");
    assert!(!settings.body.contains("Remove avatar"));
    assert!(settings.body.contains("No avatar set"));
}

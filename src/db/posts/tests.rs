//! Tests of the post storage: inserting with parts, editing with history, tombstones.

use super::*;
use crate::db::Db;

#[test]
fn insert_edit_and_tombstone() {
    let conn = Db::open_in_memory().unwrap();
    let post = sample(10, "https://k.example/users/me/statuses/10");
    let parts = Parts {
        mentions: vec![Mention {
            actor_uri: "https://r.example/u/bob".into(),
            username: "bob".into(),
            domain: "r.example".into(),
            href: None,
        }],
        tags: vec!["Rust".into()],
        attachments: vec![Attachment {
            remote_url: Some("https://r.example/a.png".into()),
            media_type: "image/png".into(),
            ..Default::default()
        }],
        poll: Some(Poll {
            options: vec![("a".into(), 0), ("b".into(), 2)],
            ..Default::default()
        }),
    };
    assert!(insert(&conn, &post, &parts).unwrap());
    assert!(
        !insert(&conn, &post, &parts).unwrap(),
        "the same uri twice stores one row"
    );
    assert_eq!(count_local(&conn).unwrap(), 1);
    assert_eq!(list_tags(&conn, 10).unwrap(), vec!["rust".to_string()]);
    assert_eq!(
        find_poll(&conn, 10).unwrap().unwrap().options[1],
        ("b".to_string(), 2)
    );
    let mut edited = post.clone();
    edited.content_html = "<p>edited</p>".into();
    edited.edited_at = Some(2000);
    update_content(&conn, &edited, &Parts::default()).unwrap();
    let got = get(&conn, 10).unwrap();
    assert_eq!(got.content_html, "<p>edited</p>");
    assert_eq!(got.published_at, 1000);
    assert!(list_mentions(&conn, 10).unwrap().is_empty());
    let history: i64 = conn
        .query_row(
            "SELECT count(*) FROM post_edits WHERE post_id = 10",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(history, 1);
    tombstone(&conn, 10, 3000).unwrap();
    assert_eq!(get(&conn, 10).unwrap().deleted_at, Some(3000));
    assert_eq!(count_local(&conn).unwrap(), 0);
    assert!(list_local_public(&conn, None, 10).unwrap().is_empty());
}

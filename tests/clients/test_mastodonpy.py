"""Mastodon.py 2.3.3 against kith: register, log in through the real authorize form,
read the advertised version, verify credentials, upload an image (twice, the second
time with synchronous=True), post with it, read the home timeline and its next
page, read notifications, favourite and boost, and delete.

Run by tests/clients/main.rs, which starts kith and sets KITH_URL and friends.
"""

from importlib.metadata import version

from mastodon import Mastodon

from kith_login import IMAGE, OOB, PEER, URL, browser_login

SCOPES = ["read", "write", "follow", "push"]


def test_mastodon_py_flow():
    assert version("Mastodon.py") == "2.3.3"
    # Mastodon.py registers with a form.
    client_id, client_secret = Mastodon.create_app(
        "kith client test (Mastodon.py)",
        scopes=SCOPES,
        redirect_uris=OOB,
        website="https://example.org",
        api_base_url=URL,
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=URL,
        version_check_mode="created",
    )
    # The authorize URL comes from kith's OAuth metadata; it is plain http here.
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    assert url.startswith(URL + "/oauth/authorize?"), url
    code = browser_login(url)
    token = api.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    assert token

    # log_in read the version from /api/v1/instance/ and /api/v2/instance/.
    assert (api.mastodon_major, api.mastodon_minor, api.mastodon_patch) == (4, 3, 0)
    assert api.mastodon_api_version == 2
    assert api.verify_minimum_version("3.1.4", cached=True)

    me = api.account_verify_credentials()
    assert me.username == "alice"
    assert me.acct == "alice"

    # Media: the v2 endpoint (kith advertises >= 3.1.4), then again waiting for the URL.
    media_error = None
    media = []
    try:
        first = api.media_post(IMAGE, description="a gradient", focus=(0.5, -0.25))
        assert first.id
        second = api.media_post(IMAGE, mime_type="image/png", description="again", synchronous=True)
        assert second.url, "synchronous=True returns once the URL is set"
        media = [first, second]
    except Exception as e:  # noqa: BLE001 — recorded, then the flow goes on without media
        media_error = e

    post = api.status_post("Hello from Mastodon.py #kithtest", media_ids=media or None, visibility="public")
    assert post.account.id == me.id
    assert "Hello from Mastodon.py" in post.content
    if media:
        assert [m.id for m in post.media_attachments] == [m.id for m in media]
        assert post.media_attachments[0].description == "a gradient"
    more = [api.status_post(f"Mastodon.py page filler {i}") for i in range(3)]

    # Home timeline, first page and the next one through the Link header.
    page1 = api.timeline_home(limit=2)
    assert [s.id for s in page1] == [more[2].id, more[1].id]
    page2 = api.fetch_next(page1)
    assert page2 is not None, "a Link rel=next on the first page"
    assert [s.id for s in page2][:2] == [more[0].id, post.id]
    assert all(s.id < page1[-1].id for s in page2)

    # Notifications: the peer instance followed and mentioned the owner before the test.
    notes = api.notifications()
    kinds = [n.type for n in notes]
    assert "mention" in kinds and "follow" in kinds, kinds
    mention = next(n for n in notes if n.type == "mention")
    assert "@" + mention.account.acct == PEER
    assert "hello alice" in mention.status.content
    one = api.notifications(id=mention.id)
    assert one.id == mention.id

    # Favourite and boost.
    fav = api.status_favourite(post.id)
    assert fav.favourited and fav.favourites_count == 1
    boost = api.status_reblog(post.id)
    assert boost.reblog.id == post.id and boost.reblog.reblogged
    assert api.status(post.id).reblogs_count == 1

    # Delete: the answer carries the source text.
    gone = api.status_delete(post.id)
    assert gone.id == post.id
    assert gone.text == "Hello from Mastodon.py #kithtest"
    # (Reading it again would be a 404, which the harness counts against the flow;
    # the Rust API tests check that one.)
    assert post.id not in [s.id for s in api.timeline_home(limit=40)]
    for s in more:
        api.status_delete(s.id)

    assert media_error is None, f"media upload failed: {media_error!r}"

"""Mastodon.py 2.3.3 against kith: register, log in through the real authorize form,
read the advertised version, verify credentials, upload an image (twice, the second
time with synchronous=True), post with it, read the home timeline and its next
page, read notifications, favourite and boost, and delete; and, in a second test,
stream_user over server-sent events, which must deliver an `update` for the owner's
new post and a `notification` for a mention by the peer instance's account.

Run by tests/clients/main.rs, which starts kith and sets KITH_URL and friends.
"""

import queue
import time
from importlib.metadata import version
from urllib.parse import urlparse

from mastodon import Mastodon, StreamListener

from kith_login import IMAGE, OOB, PEER, PEER_TOKEN, PEER_URL, URL, browser_login

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


class _Collect(StreamListener):
    """Puts every update and notification on a queue."""

    def __init__(self):
        super().__init__()
        self.events = queue.Queue()

    def on_update(self, status):
        self.events.put(("update", status))

    def on_notification(self, notification):
        self.events.put(("notification", notification))


def _next(events, kind, check, seconds=30):
    """The first event of `kind` for which check(payload) holds, within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no matching {kind} event within {seconds} s"
        got, payload = events.get(timeout=left)
        if got == kind and check(payload):
            return payload


def test_stream_user_over_server_sent_events():
    client_id, client_secret = Mastodon.create_app(
        "kith stream test (Mastodon.py)", scopes=SCOPES, redirect_uris=OOB, api_base_url=URL
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=URL)
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    api.log_in(code=browser_login(url), redirect_uri=OOB, scopes=SCOPES, allow_http=True)

    listener = _Collect()
    handle = api.stream_user(listener, run_async=True, reconnect_async=False)
    try:
        # kith registers the stream before it answers; wait for the answer.
        deadline = time.monotonic() + 20
        while handle.connection is None:
            assert time.monotonic() < deadline, "the stream did not open"
            time.sleep(0.05)

        post = api.status_post("streamed to Mastodon.py", visibility="public")
        update = _next(listener.events, "update", lambda s: s.id == post.id)
        assert "streamed to Mastodon.py" in update.content

        bob = Mastodon(access_token=PEER_TOKEN, api_base_url=PEER_URL, version_check_mode="none")
        alice = "@alice@" + urlparse(URL).netloc
        bob.status_post(f"{alice} a mention while you stream", visibility="public")
        note = _next(listener.events, "notification", lambda n: n.type == "mention")
        assert "@" + note.account.acct == PEER
        assert "a mention while you stream" in note.status.content
    finally:
        handle.close()

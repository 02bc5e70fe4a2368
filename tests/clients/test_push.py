"""Web Push against kith, decrypted by independent implementations: Mastodon.py
2.3.3 subscribes (its form: padded standard base64 keys) and decrypts the legacy
`aesgcm` message with its own push_subscription_decrypt_push; a second, standard
subscription (RFC 8291 `aes128gcm`) is decrypted with http_ece, Mozilla's reference
implementation from PyPI; each VAPID JWT is verified with the `cryptography` package
against the key /api/v2/instance publishes.

The push service is a small HTTP server on a loopback port in this process. The
notifications come from the second kith (KITH_PEER_URL, KITH_PEER_TOKEN) mentioning
the owner while the subscription exists. Run by tests/clients/main.rs.
"""

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import http_ece
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from mastodon import Mastodon

from kith_login import OOB, URL, browser_login

PEER_URL = os.environ.get("KITH_PEER_URL", "")
PEER_TOKEN = os.environ.get("KITH_PEER_TOKEN", "")
# How long a message may take to arrive (kith's workers poll every few seconds).
WAIT_SECONDS = 30


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """Records every POST (path, lower-case headers, body) and answers 201."""

    def __init__(self):
        self.messages = []
        self.changed = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with service.changed:
                    service.messages.append((self.path, headers, body))
                    service.changed.notify_all()
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def wait_for(self, path):
        deadline = time.monotonic() + WAIT_SECONDS
        with self.changed:
            while True:
                found = [m for m in self.messages if m[0] == path]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, "no push message arrived at %s" % path
                self.changed.wait(left)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def peer_mentions_owner(text):
    owner = "@alice@" + urlparse(URL).netloc
    got = requests.post(
        PEER_URL + "/api/v1/statuses",
        headers={"Authorization": "Bearer " + PEER_TOKEN},
        data={"status": "%s %s" % (owner, text), "visibility": "public"},
        timeout=20,
    )
    assert got.status_code == 200, got.text


def verify_vapid(jwt, key_b64, service):
    head, claims, signature = jwt.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(key_b64))
    raw = b64d(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, ("%s.%s" % (head, claims)).encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(b64d(head))["alg"] == "ES256"
    claims = json.loads(b64d(claims))
    assert claims["aud"] == service.url("")
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"]


def test_push_with_mastodon_py_and_http_ece():
    client_id, client_secret = Mastodon.create_app(
        "kith push test (Mastodon.py)",
        scopes=["read", "push"],
        redirect_uris=OOB,
        api_base_url=URL,
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=URL,
        version_check_mode="created",
    )
    url = api.auth_request_url(redirect_uris=OOB, scopes=["read", "push"], allow_http=True)
    token = api.log_in(
        code=browser_login(url), redirect_uri=OOB, scopes=["read", "push"], allow_http=True
    )
    vapid = requests.get(URL + "/api/v2/instance/", timeout=20).json()["configuration"]["vapid"][
        "public_key"
    ]
    assert len(b64d(vapid)) == 65

    service = PushService()
    try:
        # Mastodon.py's own subscription: the legacy aesgcm format.
        priv, pub = api.push_subscription_generate_keys()
        sub = api.push_subscription_set(
            service.url("/legacy"), pub, mention_events=True, follow_events=True
        )
        assert sub.server_key == vapid
        assert sub.alerts.mention is True
        assert api.push_subscription().endpoint == service.url("/legacy")

        peer_mentions_owner("first push, legacy")
        _, headers, body = service.wait_for("/legacy")
        assert headers["content-encoding"] == "aesgcm"
        assert headers["authorization"].startswith("WebPush ")
        assert "p256ecdsa=" + vapid in headers["crypto-key"].split(";")
        verify_vapid(headers["authorization"][len("WebPush "):], vapid, service)
        note = api.push_subscription_decrypt_push(
            body, priv, headers["encryption"], headers["crypto-key"]
        )
        assert note.notification_type == "mention"
        assert note.access_token == token
        assert "first push, legacy" in note.body
        assert note.title.startswith("You were mentioned by")

        # A standard subscription (as Ice Cubes and Elk make), decrypted by http_ece.
        private_key = ec.generate_private_key(ec.SECP256R1())
        public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        auth = os.urandom(16)
        got = requests.post(
            URL + "/api/v1/push/subscription",
            headers={"Authorization": "Bearer " + token},
            json={
                "subscription": {
                    "endpoint": service.url("/standard"),
                    "keys": {
                        "p256dh": base64.urlsafe_b64encode(public_raw).decode().rstrip("="),
                        "auth": base64.urlsafe_b64encode(auth).decode().rstrip("="),
                    },
                    "standard": True,
                },
                "data": {"alerts": {"mention": True}, "policy": "all"},
            },
            timeout=20,
        )
        assert got.status_code == 200, got.text
        assert got.json()["standard"] is True

        peer_mentions_owner("second push, standard")
        _, headers, body = service.wait_for("/standard")
        assert headers["content-encoding"] == "aes128gcm"
        scheme, params = headers["authorization"].split(" ", 1)
        assert scheme == "vapid"
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        assert fields["k"] == vapid
        verify_vapid(fields["t"], vapid, service)
        plain = http_ece.decrypt(body, private_key=private_key, auth_secret=auth, version="aes128gcm")
        note = json.loads(plain)
        assert note["notification_type"] == "mention"
        assert note["access_token"] == token
        assert "second push, standard" in note["body"]
        assert len(plain) < 4096

        api.push_subscription_delete()
    finally:
        service.stop()

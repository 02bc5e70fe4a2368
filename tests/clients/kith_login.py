"""The browser step of OAuth, done with plain HTTP: open kith's real authorize page,
submit its login-and-consent form (hidden fields and CSRF token included) with the
owner's password, and read the authorization code from the redirect's Location or
from the out-of-band page's element with id="authorization-code".

The tests get their settings from the environment the Rust harness
(tests/clients/main.rs) sets: KITH_URL, KITH_PASSWORD, KITH_IMAGE, KITH_PEER,
KITH_PEER_URL, KITH_PEER_TOKEN.
"""

import os
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests

URL = os.environ.get("KITH_URL", "")
PASSWORD = os.environ.get("KITH_PASSWORD", "")
IMAGE = os.environ.get("KITH_IMAGE", "")
# The handle of the second kith that followed and mentioned the owner before the test.
PEER = os.environ.get("KITH_PEER", "")
# That kith's address and a token for its owner, to make him act during a test.
PEER_URL = os.environ.get("KITH_PEER_URL", "")
PEER_TOKEN = os.environ.get("KITH_PEER_TOKEN", "")
OOB = "urn:ietf:wg:oauth:2.0:oob"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.in_form = False
        self.in_code = False
        self.code = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action") or ""
            self.in_form = True
        elif tag == "input" and self.in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""
        if a.get("id") == "authorization-code":
            self.in_code = True

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        self.in_code = False

    def handle_data(self, data):
        if self.in_code:
            self.code += data


def browser_login(authorize_url, password=PASSWORD):
    """Returns the authorization code kith gives for `authorize_url`."""
    with requests.Session() as s:
        page = s.get(authorize_url, timeout=30)
        assert page.status_code == 200, f"authorize page: {page.status_code} {page.text[:300]}"
        form = _Page()
        form.feed(page.text)
        assert form.action is not None, "the authorize page has no form"
        assert "csrf_token" in form.fields, "the authorize form has no CSRF token"
        fields = dict(form.fields)
        fields["password"] = password
        answer = s.post(urljoin(page.url, form.action), data=fields, allow_redirects=False, timeout=30)
        if answer.status_code in (301, 302, 303):
            query = parse_qs(urlparse(answer.headers["Location"]).query)
            return query["code"][0]
        assert answer.status_code == 200, f"authorize: {answer.status_code} {answer.text[:300]}"
        done = _Page()
        done.feed(answer.text)
        code = done.code.strip()
        assert code, "no #authorization-code on the page"
        return code

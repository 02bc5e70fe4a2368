"""The toot 0.52.1 command line against kith, run as a user would: `toot login` with
the browser step done through kith's real authorize form and the code typed in,
then whoami, post with an image, the home timeline (every page, through the Link
headers), notifications, favourite, boost and delete.

Run by tests/clients/main.rs, which starts kith and sets KITH_URL and friends.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from kith_login import IMAGE, PEER, URL, browser_login

TOOT = str(Path(sys.executable).with_name("toot"))


def _env(config_home):
    env = dict(os.environ)
    env.update({
        "XDG_CONFIG_HOME": config_home,
        # toot sizes its pager to the terminal: one tall page holds every status,
        # so it follows every Link rel="next" to the end.
        "LINES": "100000",
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
    })
    env.pop("BROWSER", None)
    return env


def toot(env, *args, stdin=None):
    r = subprocess.run(
        [TOOT, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, f"toot {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_toot_flow():
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        assert toot(env, "--version").strip().endswith("0.52.1")

        # `toot login` prints the authorize URL, asks whether to open a browser, then
        # waits for the code: read the URL, log in through the form, type "n" and the code.
        login = subprocess.Popen(
            [TOOT, "login", "-i", URL],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        authorize_url = None
        seen = []
        for line in login.stdout:
            seen.append(line)
            if line.strip().startswith(URL + "/oauth/authorize"):
                authorize_url = line.strip()
                break
        assert authorize_url, "".join(seen) + login.stderr.read()
        assert "/oauth/authorize/?" in authorize_url, authorize_url
        code = browser_login(authorize_url)
        out, err = login.communicate(f"n\n{code}\n", timeout=120)
        assert login.returncode == 0, f"toot login exited {login.returncode}\n{out}\n{err}"
        assert "Successfully logged in" in out, out

        who = toot(env, "whoami")
        assert "@alice" in who, who

        # Post with an image; the media upload goes to /api/v2/media.
        media_error = None
        try:
            posted = json.loads(
                toot(env, "post", "Hello from toot #kithtest", "--media", IMAGE,
                     "--description", "a gradient", "--json")
            )
            assert len(posted["media_attachments"]) == 1, posted
            assert posted["media_attachments"][0]["description"] == "a gradient"
        except AssertionError as e:
            media_error = e
            posted = json.loads(toot(env, "post", "Hello from toot #kithtest", "--json"))
        assert "Hello from toot" in posted["content"]
        fillers = [json.loads(toot(env, "post", f"toot filler {i}", "--json")) for i in range(3)]

        # The home timeline, two per page, every page.
        home = toot(env, "timelines", "home", "--limit", "2", "--pager", "--no-clear")
        for text in ["toot filler 2", "toot filler 1", "toot filler 0", "Hello from toot"]:
            assert text in home, home
        assert home.index("toot filler 2") < home.index("toot filler 0") < home.index("Hello from toot")
        one = toot(env, "timelines", "home", "--limit", "2", "--no-pager", "--no-clear")
        assert "toot filler 2" in one and "toot filler 0" not in one, one
        second = json.loads(
            toot(env, "timelines", "home", "--limit", "2", "--max-id", fillers[1]["id"], "--json")
        )
        assert [s["id"] for s in second] == [fillers[0]["id"], posted["id"]]

        notes = toot(env, "notifications")
        assert "hello alice" in notes, notes
        assert PEER.split("@")[1] in notes, notes
        assert re.search(r"follow", notes, re.IGNORECASE), notes

        fav = json.loads(toot(env, "favourite", posted["id"], "--json"))
        assert fav["favourited"] is True
        boost = json.loads(toot(env, "reblog", posted["id"], "--json"))
        assert boost["reblog"]["id"] == posted["id"]

        deleted = json.loads(toot(env, "delete", posted["id"], "--json"))
        assert deleted["id"] == posted["id"]
        for s in fillers:
            toot(env, "delete", s["id"])
        after = toot(env, "timelines", "home", "--limit", "40", "--no-pager", "--no-clear")
        assert "toot filler" not in after and "Hello from toot" not in after, after

        assert media_error is None, f"media upload failed: {media_error}"

"""kith's fediverse-pasture peer: pasture's verify_actor app (which also serves its
one-actor `/actor`), bound to 127.0.0.1, plus two control routes for the tests.

Usage: serve.py PORT WORKDIR. Writes pasture's data.toml (generated test actors and
keys) into WORKDIR. Routes added here:

- POST /_control/send {"to": actor URL, "examples": [object fields...]}: sends one
  Create(Note) per example through pasture's ActivitySender and answers, for each,
  the object id, the HTTP status and the Digest header sent.
- GET /_control/inputs: every example of fediverse-pasture-inputs, with its URLs
  moved to loopback (see `to_loopback`).
"""

import asyncio
import os
import re
import socket
import sys
import threading

import aiohttp
import aiohttp.connector
import aiohttp.resolver
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import request

port, workdir = int(sys.argv[1]), sys.argv[2]
os.chdir(workdir)

# Loopback only: every host name goes through socket.getaddrinfo (aiohttp's aiodns
# resolver is swapped for the threaded one), which refuses anything but loopback.
real_getaddrinfo = socket.getaddrinfo


def loopback_only(host, *args, **kwargs):
    if host not in ("localhost", "127.0.0.1", "::1"):
        print(f"BLOCKED non-loopback lookup of {host}", flush=True)
        raise OSError(f"interop peer: refusing to resolve {host}")
    return real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = loopback_only
aiohttp.connector.DefaultResolver = aiohttp.resolver.ThreadedResolver

import bovine.jsonld  # noqa: E402
from pyld import jsonld  # noqa: E402
from fediverse_pasture.data_provider import DataProvider, bovine_actor_for_actor_data  # noqa: E402
from fediverse_pasture.runner import ActivitySender  # noqa: E402
from fediverse_pasture.verify_actor import build_app  # noqa: E402
import fediverse_pasture_inputs  # noqa: E402


def offline_contexts(url, options={}):
    """JSON-LD contexts from memory: bovine's own copies of ActivityStreams and its
    context, and an empty context for anything else, which is what bovine falls back
    to when a fetch fails. No context is ever fetched."""
    known = {
        "https://www.w3.org/ns/activitystreams": bovine.jsonld.activitystreams_context,
        bovine.jsonld.bovine_context_name: bovine.jsonld.bovine_context,
    }
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": {"@context": known.get(url, [])},
    }


jsonld.set_document_loader(offline_contexts)

base = f"http://localhost:{port}"
app = build_app(False, f"localhost:{port}", False, 10)
one_actor = DataProvider.load().one_actor
URL = re.compile(r"https?://([A-Za-z0-9_.\-]+(?::\d+)?)")


def to_loopback(value, key=None):
    """The inputs name pasture's actor `http://pasture-one-actor` and many public hosts.
    Pasture's host becomes this app; every other host but the ActivityStreams
    namespace becomes a closed loopback port, so nothing kith might fetch leaves the
    machine. `@context` values stay as they are: kith never fetches a context."""
    if key == "@context":
        return value
    if isinstance(value, dict):
        return {k: to_loopback(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_loopback(v, key) for v in value]
    if isinstance(value, str):
        def swap(m):
            host = m.group(1)
            if host == "pasture-one-actor":
                return base
            return m.group(0) if host == "www.w3.org" else "http://127.0.0.1:9"

        return URL.sub(swap, value)
    return value


@app.get("/_control/inputs")
async def inputs():
    return {
        name: [to_loopback(example) for example in data.examples]
        for name, data in sorted(fediverse_pasture_inputs.available.items())
    }


@app.post("/_control/send")
async def send():
    body = await request.get_json()
    digests = []

    async def on_request_start(session, ctx, params):
        digests.append(params.headers.get("digest"))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    results = []
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        bovine_actor, actor = bovine_actor_for_actor_data(f"{base}/actor", one_actor)
        await bovine_actor.init(session=session)
        statuses = []
        post = bovine_actor.post

        async def recording_post(target, data):
            try:
                response = await post(target, data)
                statuses.append(response.status)
                return response
            except aiohttp.ClientResponseError as e:
                statuses.append(e.status)
                raise

        bovine_actor.post = recording_post
        sender = ActivitySender.for_actor(bovine_actor, actor)
        sender.sleep_after_getting_inbox = False
        for example in body["examples"]:
            statuses.clear()
            digests.clear()
            sender.init_create_note(lambda note: {**note, **example})
            await sender.send(body["to"])
            results.append(
                {
                    "object_id": sender.object_id,
                    "status": statuses[-1] if statuses else None,
                    "digest": next((d for d in reversed(digests) if d), None),
                }
            )
    return results


@app.before_serving
async def announce():
    print(f"pasture listening on {base}", flush=True)


def exit_with_parent():
    sys.stdin.read()  # EOF: the test process is gone
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
config = Config()
config.bind = [f"127.0.0.1:{port}"]
config.accesslog = "-"
asyncio.run(serve(app, config))

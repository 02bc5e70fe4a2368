// masto 7.12.0 against kith: register, log in through the real authorize form, get
// the token, verify credentials, upload an image with media polling left on (it
// polls GET /api/v1/media/:id), post with it, read the home timeline and its next
// page, read notifications, favourite and boost, and delete.
//
// Run by tests/clients/main.rs (node --test), which starts kith and sets KITH_URL.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { createOAuthAPIClient, createRestAPIClient } from "masto";
import { IMAGE, OOB, PEER, URL_BASE, browserLogin } from "./login.mjs";

test("masto flow", async () => {
  const anon = createRestAPIClient({ url: URL_BASE });
  const app = await anon.v1.apps.create({
    clientName: "kith client test (masto)",
    redirectUris: OOB,
    scopes: "read write follow push",
  });
  assert.ok(app.clientId && app.clientSecret);

  const authorize = new URL("/oauth/authorize", URL_BASE);
  authorize.search = new URLSearchParams({
    client_id: app.clientId,
    response_type: "code",
    redirect_uri: OOB,
    scope: "read write follow push",
  }).toString();
  const code = await browserLogin(authorize.toString());
  const oauth = createOAuthAPIClient({ url: URL_BASE });
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: OOB,
    code,
    scope: "read write follow push",
  });
  assert.equal(token.scope, "read write follow push");

  // Media polling stays on; it gives up after 20 s instead of masto's 60.
  const client = createRestAPIClient({ url: URL_BASE, accessToken: token.accessToken, mediaTimeout: 20_000 });
  const me = await client.v1.accounts.verifyCredentials();
  assert.equal(me.username, "alice");

  let mediaError;
  let media;
  try {
    const file = new Blob([await readFile(IMAGE)], { type: "image/png" });
    media = await client.v2.media.create({ file, description: "a gradient", focus: "0.5,-0.25" });
    assert.ok(media.url, "polling ends once the url is set");
    assert.equal(media.description, "a gradient");
  } catch (e) {
    mediaError = e;
    media = undefined;
  }

  const post = await client.v1.statuses.create({
    status: "Hello from masto #kithtest",
    visibility: "public",
    ...(media ? { mediaIds: [media.id] } : {}),
  });
  assert.match(post.content, /Hello from masto/);
  if (media) assert.deepEqual(post.mediaAttachments.map((m) => m.id), [media.id]);
  const fillers = [];
  for (let i = 0; i < 3; i++) fillers.push(await client.v1.statuses.create({ status: `masto filler ${i}` }));

  // Home timeline: the paginator follows the Link header to the next page.
  const pages = client.v1.timelines.home.list({ limit: 2 })[Symbol.asyncIterator]();
  const page1 = await pages.next();
  assert.deepEqual(page1.value.map((s) => s.id), [fillers[2].id, fillers[1].id]);
  const page2 = await pages.next();
  assert.equal(page2.done, false);
  assert.deepEqual(page2.value.slice(0, 2).map((s) => s.id), [fillers[0].id, post.id]);

  const notes = await client.v1.notifications.list({ limit: 20 });
  const kinds = notes.map((n) => n.type);
  assert.ok(kinds.includes("mention") && kinds.includes("follow"), kinds.join());
  const mention = notes.find((n) => n.type === "mention");
  assert.equal(`@${mention.account.acct}`, PEER);
  assert.match(mention.status.content, /hello alice/);

  const fav = await client.v1.statuses.$select(post.id).favourite();
  assert.equal(fav.favourited, true);
  const boost = await client.v1.statuses.$select(post.id).reblog();
  assert.equal(boost.reblog.id, post.id);

  const gone = await client.v1.statuses.$select(post.id).remove();
  assert.equal(gone.id, post.id);
  const home = await client.v1.timelines.home.list({ limit: 40 });
  assert.ok(!home.some((s) => s.id === post.id), "the deleted status left the home timeline");
  for (const s of fillers) await client.v1.statuses.$select(s.id).remove();

  assert.ok(mediaError === undefined, `media upload failed: ${mediaError}`);
});

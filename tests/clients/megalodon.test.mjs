// megalodon 10.0.5 against kith: the server detector answers "mastodon", then
// register, log in through the real authorize form, fetch the token, verify
// credentials, upload an image (megalodon does not poll), post with it, read the
// home timeline and a second page, read notifications, favourite and boost, delete.
//
// Run by tests/clients/main.rs (node --test), which starts kith and sets KITH_URL.

import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import megalodon, { detector } from "megalodon";
import { IMAGE, OOB, PEER, URL_BASE, browserLogin } from "./login.mjs";

// Node loads megalodon's CommonJS build: the generator is its `default` export.
const generator = megalodon.default ?? megalodon;

test("megalodon flow", async () => {
  assert.equal(await detector(URL_BASE), "mastodon");

  const anon = generator("mastodon", URL_BASE);
  const app = await anon.registerApp("kith client test (megalodon)", {
    scopes: ["read", "write", "follow"],
    redirect_uris: OOB,
  });
  assert.ok(app.url, "megalodon builds the authorize URL");
  const code = await browserLogin(app.url);
  const token = await anon.fetchAccessToken(app.client_id, app.client_secret, code, OOB);
  assert.ok(token.access_token);

  const client = generator("mastodon", URL_BASE, token.access_token);
  const me = (await client.verifyAccountCredentials()).data;
  assert.equal(me.username, "alice");

  let mediaError;
  let media;
  try {
    media = (await client.uploadMedia(fs.createReadStream(IMAGE), { description: "a gradient" })).data;
    assert.ok(media.id);
  } catch (e) {
    mediaError = e;
    media = undefined;
  }

  const post = (
    await client.postStatus("Hello from megalodon #kithtest", {
      visibility: "public",
      ...(media ? { media_ids: [media.id] } : {}),
    })
  ).data;
  assert.match(post.content, /Hello from megalodon/);
  if (media) assert.deepEqual(post.media_attachments.map((m) => m.id), [media.id]);
  const fillers = [];
  for (let i = 0; i < 3; i++) fillers.push((await client.postStatus(`megalodon filler ${i}`, {})).data);

  const page1 = (await client.getHomeTimeline({ limit: 2 })).data;
  assert.deepEqual(page1.map((s) => s.id), [fillers[2].id, fillers[1].id]);
  const page2 = (await client.getHomeTimeline({ limit: 2, max_id: page1[1].id })).data;
  assert.deepEqual(page2.map((s) => s.id), [fillers[0].id, post.id]);

  const notes = (await client.getNotifications({ limit: 20 })).data;
  const kinds = notes.map((n) => n.type);
  assert.ok(kinds.includes("mention") && kinds.includes("follow"), kinds.join());
  const mention = notes.find((n) => n.type === "mention");
  assert.equal(`@${mention.account.acct}`, PEER);

  const fav = (await client.favouriteStatus(post.id)).data;
  assert.equal(fav.favourited, true);
  const boost = (await client.reblogStatus(post.id)).data;
  assert.equal(boost.reblog.id, post.id);

  const gone = (await client.deleteStatus(post.id)).data;
  assert.equal(gone.id, post.id);
  const home = (await client.getHomeTimeline({ limit: 40 })).data;
  assert.ok(!home.some((s) => s.id === post.id), "the deleted status left the home timeline");
  for (const s of fillers) await client.deleteStatus(s.id);

  assert.ok(mediaError === undefined, `media upload failed: ${mediaError}`);
});

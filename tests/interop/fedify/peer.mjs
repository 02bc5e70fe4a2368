// kith's interop peer: a one-actor ActivityPub server built on the Fedify library.
// Env: PEER_PORT, PEER_KEYS (key file, created once), PEER_FIRST_KNOCK (optional).
// It binds 127.0.0.1, refuses every outbound request that is not to loopback, logs
// every HTTP exchange (signature scheme, status, verified keyId) and every inbox
// activity, and is driven over /_control/* by tests/interop/fedify.rs.
import http from "node:http";
import fs from "node:fs";
import crypto from "node:crypto";
import { createFederation, MemoryKvStore, generateCryptoKeyPair, exportJwk, importJwk } from "@fedify/fedify";
import { Accept, Activity, Create, Endpoints, Follow, Mention, Note, Person } from "@fedify/vocab";

const port = Number(process.env.PEER_PORT), name = "peer", base = `http://localhost:${port}`;
const log = [];
const record = (entry) => log.push({ at: Date.now(), ...entry });
const scheme = (h) => (h.get("signature-input") ? "rfc9421" : h.get("signature") ? "cavage" : "none");
let tamper = false; // corrupt the next signed POST (double-knock test)

// Only loopback, logged with scheme and status: the peer never reaches the internet.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  let req = new Request(input, init);
  if (!["localhost", "127.0.0.1"].includes(new URL(req.url).hostname)) {
    record({ kind: "blocked", url: req.url });
    throw new TypeError(`interop peer: refusing non-loopback request to ${req.url}`);
  }
  const sch = scheme(req.headers);
  if (tamper && sch !== "none" && req.method === "POST") {
    tamper = false; // flip the first character of the signature value
    const headers = new Headers(req.headers);
    headers.set("signature", headers.get("signature").replace(/(signature="|=:)([A-Za-z0-9+/])/, (m, p, c) => p + (c === "A" ? "B" : "A")));
    req = new Request(req, { headers });
  }
  const res = await realFetch(req);
  record({ kind: "out", method: req.method, url: req.url, scheme: sch, status: res.status, type: res.headers.get("content-type") });
  return res;
};

// Keys: Ed25519 first, RSA second, so a peer that takes the first key gets it wrong.
async function loadKeys() {
  const file = process.env.PEER_KEYS;
  if (!fs.existsSync(file)) {
    const pairs = [await generateCryptoKeyPair("Ed25519"), await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")];
    const jwks = await Promise.all(pairs.map(async (p) => ({ privateKey: await exportJwk(p.privateKey), publicKey: await exportJwk(p.publicKey) })));
    fs.writeFileSync(file, JSON.stringify(jwks));
  }
  return Promise.all(JSON.parse(fs.readFileSync(file, "utf8")).map(async (j) => ({ privateKey: await importJwk(j.privateKey, "private"), publicKey: await importJwk(j.publicKey, "public") })));
}
const keyPairs = await loadKeys();

const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true, firstKnock: process.env.PEER_FIRST_KNOCK || undefined });
federation.setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
  if (identifier !== name) return null;
  const keys = await ctx.getActorKeyPairs(identifier);
  return new Person({
    id: ctx.getActorUri(identifier), preferredUsername: identifier, name: "Fedify peer",
    inbox: ctx.getInboxUri(identifier), endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    publicKeys: keys.map((k) => k.cryptographicKey), assertionMethods: keys.map((k) => k.multikey),
  });
}).setKeyPairsDispatcher(async () => keyPairs);

federation.setInboxListeners("/users/{identifier}/inbox", "/inbox").on(Activity, async (ctx, activity) => {
  const object = await activity.getObject(ctx).catch(() => null);
  record({ kind: "inbox", verified: true, type: activity.constructor.name, id: activity.id?.href, actor: activity.actorId?.href,
    objectType: object?.constructor.name, objectId: object?.id?.href, content: object?.content?.toString() });
  if (activity instanceof Follow) {
    const follower = await activity.getActor(ctx);
    await ctx.sendActivity({ identifier: name }, follower, new Accept({ id: new URL(`/accepts/${crypto.randomUUID()}`, base), actor: ctx.getActorUri(name), object: activity }));
  }
}).onUnverifiedActivity((ctx, activity, reason) => {
  record({ kind: "inbox", verified: false, type: activity.constructor.name, id: activity.id?.href, reason: String(reason?.type ?? reason) });
});

// Control actions, each answering JSON when done.
const me = () => new URL(`/users/${name}`, base);
const actions = {
  async follow(ctx, { target }) {
    const actor = await ctx.lookupObject(target, { documentLoader: await ctx.getDocumentLoader({ identifier: name }) });
    await ctx.sendActivity({ identifier: name }, actor, new Follow({ id: new URL(`/follows/${crypto.randomUUID()}`, base), actor: me(), object: actor.id }));
  },
  async note(ctx, { to, mention, content }) {
    const actor = await ctx.lookupObject(to, { documentLoader: await ctx.getDocumentLoader({ identifier: name }) });
    const id = crypto.randomUUID(), note = new Note({ id: new URL(`/notes/${id}`, base), attribution: me(), to: actor.id, content,
      tags: [new Mention({ href: actor.id, name: mention })] });
    await ctx.sendActivity({ identifier: name }, actor, new Create({ id: new URL(`/creates/${id}`, base), actor: me(), to: actor.id, object: note }));
    return { id: note.id.href };
  },
  async lookup(ctx, { url }) {
    const from = log.length, loader = await ctx.getDocumentLoader({ identifier: name });
    const doc = await loader(url);
    return { document: doc.document, exchanges: log.slice(from).filter((e) => e.kind === "out") };
  },
  async tamper() { tamper = true; },
};

http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks), url = new URL(req.url, base);
  const reply = (status, json) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(json)); };
  if (url.pathname === "/_control/log") return reply(200, log);
  if (url.pathname.startsWith("/_control/")) {
    const ctx = federation.createContext(new URL(base), undefined);
    try { return reply(200, { ok: true, ...(await actions[url.pathname.slice(10)](ctx, JSON.parse(body.toString() || "{}"))) }); }
    catch (e) { return reply(200, { ok: false, error: String(e?.stack ?? e) }); }
  }
  const request = new Request(url, { method: req.method, headers: req.headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : body });
  const sch = scheme(request.headers);
  const key = sch === "none" ? null : await federation.createContext(request.clone(), undefined).getSignedKey().catch(() => null);
  const response = await federation.fetch(request, { contextData: undefined });
  record({ kind: "in", method: req.method, path: url.pathname, scheme: sch, verifiedKey: key?.id?.href ?? null, status: response.status });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}).listen(port, "127.0.0.1", () => console.log(`peer listening on ${base}`));
process.stdin.on("end", () => process.exit(0)).resume(); // the test process is gone

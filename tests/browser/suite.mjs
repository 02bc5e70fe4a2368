// kith's web UI in headless Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core. Started by tests/browser/main.rs with two kith instances:
//   KITH_A_URL / KITH_A_PASSWORD   alice, whose UI is exercised
//   KITH_B_URL / KITH_B_PASSWORD   bob, the account alice follows by handle
//   KITH_B_HANDLE                  @bob@localhost:PORT
//   KITH_SCREENSHOTS               where the PNGs go
// Every page visited is checked for horizontal overflow at 320, 390 and 1280 px and
// for console errors (CSP violations included); any of them fails the suite.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const A = process.env.KITH_A_URL;
const B = process.env.KITH_B_URL;
const SHOTS = process.env.KITH_SCREENSHOTS;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const WIDTHS = [320, PHONE.width, DESKTOP.width];
const IMAGE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "soup.png");
const ALT = "A bowl of tomato soup on a beige table";
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const problems = [];
const dirs = [];
let step = "start";

function log(msg) {
  step = msg;
  console.log(`browser suite: ${msg}`);
}

/** A fresh Chromium with its own profile directory (so alice's and bob's cookies stay apart). */
async function launch(name) {
  const dir = mkdtempSync(join(tmpdir(), `kith-chromium-${name}-`));
  dirs.push(dir);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: PHONE,
    colorScheme: "light",
  });
  context.setDefaultTimeout(15000);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${name}: console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: page error on ${page.url()}: ${e.message}`));
  page.on("response", (r) => {
    // Pages the suite opens on purpose answer 2xx or 3xx; any other failed load
    // (an image, the stylesheet, the script) is a broken page.
    if (r.status() >= 400) problems.push(`${name}: ${r.status()} for ${r.url()} (from ${page.url()})`);
  });
  return { context, page };
}

/** Fails when the page is wider than the viewport at any of the checked widths. */
async function checkLayout(page, what) {
  const original = page.viewportSize();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === DESKTOP.width ? DESKTOP.height : PHONE.height });
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    if (scroll > client) problems.push(`${what}: horizontal overflow at ${width}px (${scroll} > ${client})`);
  }
  await page.setViewportSize(original);
}

async function visit(page, url, what) {
  const resp = await page.goto(url, { waitUntil: "load" });
  assert.ok(resp && resp.status() < 400, `${what}: ${url} answered ${resp && resp.status()}`);
  await checkLayout(page, what);
}

async function shoot(page, name) {
  for (const [suffix, size] of [["phone", PHONE], ["desktop", DESKTOP]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${suffix}.png`) });
  }
  await page.setViewportSize(PHONE);
}

/** The post's image is there with its alt text, and loaded. */
async function imageShown(post, what) {
  const img = post.getByAltText(ALT);
  await img.waitFor();
  await img.scrollIntoViewIfNeeded();
  const width = await img.evaluate(async (el) => {
    if (!el.complete) await new Promise((ok) => el.addEventListener("load", ok, { once: true }));
    return el.naturalWidth;
  });
  assert.equal(width, 240, `${what}: the image loads at its size`);
}

async function login(page, base, password) {
  await visit(page, `${base}/login`, "login page");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/home`);
}

/** Reloads `url` until `locator(page)` is visible, for at most `seconds`. */
async function until(page, url, locator, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    await page.goto(url, { waitUntil: "load" });
    if (await locator(page).first().isVisible()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(500);
  }
}

async function main() {
  const alice = await launch("alice");
  const bob = await launch("bob");
  const a = alice.page;

  log("a visitor sees alice's profile and the login page");
  await visit(a, `${A}/`, "visitor profile");
  await visit(a, `${A}/home`, "home redirects a visitor");
  assert.match(a.url(), /\/login\?next=/, "home sends a visitor to the login form");

  log("alice logs in");
  await login(a, A, process.env.KITH_A_PASSWORD);
  await checkLayout(a, "home (empty)");
  log("an empty home says where to go");
  const welcome = a.locator(".welcome");
  await welcome.getByRole("link", { name: "Search" }).waitFor();
  await welcome.getByRole("link", { name: "People" }).waitFor();
  assert.equal(await welcome.getByRole("link", { name: "Search" }).getAttribute("href"), "/search");
  // Keyboard: the first Tab stop is the skip link.
  await a.keyboard.press("Tab");
  assert.equal(await a.evaluate(() => document.activeElement?.textContent), "Skip to content");

  log("alice fills in her profile");
  await visit(a, `${A}/settings`, "settings");
  await a.getByLabel("Display name").fill("Alice Example");
  await a.getByLabel("Bio").fill("Writes about soup, bikes and #kith.");
  await a.getByLabel("Label 1").fill("Website");
  await a.getByLabel("Content 1").fill("https://alice.example/");
  await a.locator("#avatar").setInputFiles(IMAGE);
  await a.locator("#header").setInputFiles(IMAGE);
  await a.getByRole("button", { name: "Save profile" }).click();
  await a.getByText("Profile saved").waitFor();
  await checkLayout(a, "settings saved");
  log("settings shows the uploaded avatar and header with remove buttons");
  for (const which of ["avatar", "header"]) {
    const src = await a.locator(`img.current-${which}`).getAttribute("src");
    assert.match(src, /^\/media\/[0-9a-f]{32}\.\w+$/, `the current ${which} is the upload`);
  }
  await a.getByRole("button", { name: "Remove avatar" }).waitFor();
  await a.getByRole("button", { name: "Remove header image" }).waitFor();

  log("alice sets her time zone to UTC+02:00");
  await a.getByLabel("Times on these pages are shown in").selectOption({ label: "UTC+02:00" });
  await a.getByRole("button", { name: "Save time zone" }).click();
  await a.getByText("Time zone saved.").waitFor();

  log("alice posts with a content warning and an image with alt text");
  await visit(a, `${A}/home`, "home");
  await a.getByLabel("Content warning").fill("Food photo");
  await a.getByLabel("What's on your mind?").fill("Soup again today. Still good! #lunch");
  await a.locator("summary", { hasText: "Add images" }).click();
  await a.getByLabel("Image 1", { exact: true }).setInputFiles(IMAGE);
  await a.getByLabel("Description of image 1 (alt text)").fill(ALT);
  assert.equal(await a.locator("#counter").textContent(), String(500 - "Food photo".length - "Soup again today. Still good! #lunch".length));
  await a.getByRole("button", { name: "Post", exact: true }).click();
  await a.waitForURL(`${A}/home`);
  const post = a.locator("article.post").filter({ hasText: "Food photo" }).first();
  await post.waitFor();
  assert.equal(await post.locator("details.cw").getAttribute("open"), null, "the warning starts collapsed");
  await post.locator("summary").click();
  await post.getByText("Soup again today").waitFor();
  await imageShown(post, "home");
  await checkLayout(a, "home with a post");

  log("alice likes her post");
  await post.getByRole("button", { name: /^Like/ }).click();
  await a.waitForURL(/\/home/);
  const liked = a.locator("article.post").filter({ hasText: "Food photo" }).first();
  await liked.getByRole("button", { name: "Unlike 1" }).waitFor();
  await a.evaluate(() => window.scrollTo(0, 0));
  await shoot(a, "home");

  log("times on home are in alice's time zone, with the UTC time kept for machines");
  const time = liked.locator("a.when time");
  const [shown, iso] = [await time.textContent(), await time.getAttribute("datetime")];
  const expected = new Date(Date.parse(iso) + 2 * 3600 * 1000).toISOString();
  assert.equal(shown, `${expected.slice(0, 10)} ${expected.slice(11, 16)} UTC+02:00`);

  log("alice boosts her post: the boost shows an icon and no id is used twice");
  await liked.getByRole("button", { name: /^Boost/ }).click();
  await a.waitForURL(/\/home/);
  const boostCard = a.locator("article.post").filter({ has: a.locator("p.boosted") }).first();
  await boostCard.waitFor();
  assert.equal(await boostCard.locator("p.boosted svg.icon").count(), 1, "the boost mark is an inline SVG");
  assert.ok(!(await boostCard.locator("p.boosted").textContent()).includes("\u{1F501}"), "no emoji");
  assert.equal(await a.locator("article.post").filter({ hasText: "Food photo" }).count(), 2, "post and boost both on home");
  const duplicates = await a.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  });
  assert.deepEqual(duplicates, [], "every id on home is used once");

  log("alice deletes a post through the confirmation page");
  await a.getByLabel("What's on your mind?").fill("A post to delete");
  await a.getByRole("button", { name: "Post", exact: true }).click();
  await a.waitForURL(`${A}/home`);
  const doomed = a.locator("article.post").filter({ hasText: "A post to delete" }).first();
  await doomed.getByRole("link", { name: "Delete" }).click();
  await a.getByRole("heading", { name: "Delete this post?" }).waitFor();
  await checkLayout(a, "delete confirmation");
  const main = a.locator("main");
  assert.equal(await main.getByRole("button").count(), 1, "only the confirming button");
  assert.equal(await main.getByRole("button", { name: /Boost|Like|Bookmark/ }).count(), 0);
  await main.getByRole("button", { name: "Delete" }).click();
  await a.waitForURL(`${A}/home`);
  assert.equal(await a.locator("article.post").filter({ hasText: "A post to delete" }).count(), 0, "deleted");

  log("a visitor sees the post on alice's public profile, warning collapsed");
  const b = bob.page;
  await visit(b, `${A}/@alice`, "public profile");
  const pub = b.locator("article.post").filter({ hasText: "Food photo" }).first();
  await pub.waitFor();
  await b.getByRole("heading", { name: "Alice Example" }).waitFor();
  await pub.locator("summary").click();
  await imageShown(pub, "public profile");
  await pub.locator("summary").click();
  log("the visitor sees the counts in words, singular for one");
  const stats = pub.locator("footer.stats");
  await stats.getByText("1 like", { exact: true }).waitFor();
  await stats.getByText("1 boost", { exact: true }).waitFor();
  await stats.getByText("0 replies", { exact: true }).waitFor();
  log("the visitor sees the avatar and header uploaded in Settings");
  for (const sel of ["img.banner", "header img.avatar"]) {
    const img = b.locator(`.profile ${sel}`).first();
    assert.match(await img.getAttribute("src"), /^\/media\/[0-9a-f]{32}\.\w+$/, `${sel} is the upload`);
    const width = await img.evaluate(async (el) => {
      if (!el.complete) await new Promise((ok) => el.addEventListener("load", ok, { once: true }));
      return el.naturalWidth;
    });
    assert.ok(width > 0, `${sel} loads`);
  }
  assert.equal(await b.locator('a[rel~="me"]').first().getAttribute("href"), "https://alice.example/");
  assert.equal(await pub.getByRole("button", { name: /Like/ }).count(), 0, "visitors get no buttons");
  await shoot(b, "profile");
  await pub.locator("a.when").click();
  await b.waitForURL(/\/@alice\/\d+$/);
  await checkLayout(b, "public post page");

  log("bob logs in on his own server and posts");
  await login(b, B, process.env.KITH_B_PASSWORD);
  await b.getByLabel("What's on your mind?").fill("Hello from bob's kith!");
  await b.getByRole("button", { name: "Post", exact: true }).click();
  await b.waitForURL(`${B}/home`);

  log("alice follows bob by handle");
  await visit(a, `${A}/people`, "people");
  await a.getByLabel(/Follow someone/).fill(process.env.KITH_B_HANDLE);
  await a.getByRole("button", { name: "Follow", exact: true }).click();
  await a.waitForURL(/\/accounts\/\d+$/);
  const accountPage = a.url();
  await until(a, accountPage, (p) => p.getByRole("button", { name: "Unfollow" }), 30, "bob to accept");
  await checkLayout(a, "bob's account page");
  await a.screenshot({ path: join(SHOTS, "page-account-phone.png"), fullPage: true });

  log("bob posts again and it reaches alice's home timeline");
  await b.getByLabel("What's on your mind?").fill("Now alice gets this one.");
  await b.getByRole("button", { name: "Post", exact: true }).click();
  await b.waitForURL(`${B}/home`);
  await until(a, `${A}/home`, (p) => p.getByText("Now alice gets this one."), 30, "bob's post on alice's home");
  await checkLayout(a, "home with bob's post");
  await a.screenshot({ path: join(SHOTS, "home-federated-phone.png") });

  log("alice looks at her notifications, people, search and settings pages");
  for (const [path, what] of [
    ["/notifications", "notifications"], ["/people?tab=following", "following"], ["/search?q=bob", "search"],
    ["/settings/moderation", "moderation"], ["/settings/apps", "apps"], ["/settings/data", "import-export"],
    ["/tags/lunch", "hashtag"],
    ["/bookmarks", "bookmarks"], ["/compose", "compose"],
  ]) {
    await visit(a, `${A}${path}`, what);
    await a.screenshot({ path: join(SHOTS, `page-${what}-phone.png`), fullPage: true });
  }
  await a.emulateMedia({ colorScheme: "dark" });
  await visit(a, `${A}/home`, "home (dark)");
  await a.screenshot({ path: join(SHOTS, "home-dark-phone.png") });
  await a.emulateMedia({ colorScheme: "light" });

  log("alice imports a list of blocked domains and downloads one of her CSV files");
  await visit(a, `${A}/settings/data`, "import and export");
  await a.getByLabel("What the file lists", { exact: true }).selectOption("domain-blocks");
  await a.getByLabel("CSV file").setInputFiles({
    name: "blocked_domains.csv", mimeType: "text/csv", buffer: Buffer.from("spam.example\n"),
  });
  await a.getByRole("button", { name: "Import", exact: true }).click();
  await a.getByRole("heading", { name: /Imported: Blocked domains/ }).waitFor();
  await checkLayout(a, "import report");
  // The download link, fetched with the browser's cookies (the page's CSP allows no fetch).
  const csv = await a.request.get(await a.getByRole("link", { name: "Blocked domains" }).evaluate((l) => l.href));
  assert.equal(csv.headers()["content-disposition"], 'attachment; filename="blocked_domains.csv"');
  assert.equal(await csv.text(), "spam.example\n");

  log("bob lists alice as an alias; alice moves to bob, confirming first");
  await visit(b, `${B}/settings`, "bob's settings");
  await b.getByLabel("Account aliases, one per line").fill(`@alice@${new URL(A).host}`);
  await b.getByRole("button", { name: "Save aliases" }).click();
  await b.getByText("Aliases saved.").waitFor();
  await visit(a, `${A}/settings`, "settings");
  await a.getByLabel(/The new account/).fill(process.env.KITH_B_HANDLE);
  await a.getByRole("button", { name: "Continue" }).click();
  await a.getByRole("heading", { name: `Move to ${process.env.KITH_B_HANDLE}?` }).waitFor();
  await checkLayout(a, "move confirmation");
  await a.getByRole("button", { name: `Move to ${process.env.KITH_B_HANDLE}` }).click();
  await a.getByText("Moved. Your followers").waitFor();
  await a.getByText("This account has moved to").waitFor();
  await checkLayout(a, "settings after the move");

  await a.getByRole("link", { name: "Profile", exact: true }).click();
  await a.waitForURL(`${A}/@alice`);
  await a.getByRole("heading", { name: "Alice Example" }).waitFor();
  await a.getByText("This account has moved to").waitFor();

  log("alice logs out");
  await visit(a, `${A}/home`, "home");
  await a.getByRole("button", { name: "Log out" }).click();
  await a.waitForURL(`${A}/`);
  await a.getByRole("link", { name: "Log in" }).waitFor();
  await a.goto(`${A}/home`);
  assert.match(a.url(), /\/login/, "after logging out, home asks for the password again");

  await alice.context.close();
  await bob.context.close();
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`browser suite: FAILED at "${step}": ${e.stack || e}`);
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
for (const p of problems) console.error(`browser suite: ${p}`);
if (failed || problems.length) {
  console.error(`browser suite: 0 passed, 1 failed (${problems.length} page problems)`);
  process.exit(1);
}
console.log("browser suite: 1 passed, 0 failed");

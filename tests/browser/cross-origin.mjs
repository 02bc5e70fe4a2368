// A browser app on another loopback origin calling kith's API with plain fetch, in
// headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core. Started by
// tests/browser/main.rs with one kith instance and a static server for the app page:
//   KITH_URL / KITH_PASSWORD   the kith instance (http://localhost:PORT) and its password
//   APP_URL                    the app's origin (http://127.0.0.2:PORT)
// The app registers itself, sends the user to kith's authorize page (this script types
// the password and authorizes), gets a token, reads the home timeline and posts; every
// call with a JSON body or a token needs a CORS preflight, which must pass. Console
// errors (a blocked request is one) fail the run.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const KITH = process.env.KITH_URL;
const APP = process.env.APP_URL;
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const problems = [];
let step = "start";
function log(msg) {
  step = msg;
  console.log(`cross-origin app: ${msg}`);
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: FLAGS });
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));

    log("the app registers itself and sends the user to kith");
    await page.goto(`${APP}/app`);
    await page.waitForURL((u) => u.href.startsWith(`${KITH}/oauth/authorize`));
    log("the user authorizes it on kith's page");
    await page.getByLabel("Password").fill(process.env.KITH_PASSWORD);
    await page.getByRole("button", { name: "Authorize" }).click();
    await page.waitForURL((u) => u.href.startsWith(`${APP}/callback?code=`));
    log("the app gets a token, reads the home timeline and posts");
    const result = page.locator("#result");
    await result.filter({ hasText: /\S/ }).waitFor();
    const outcome = JSON.parse(await result.textContent());
    assert.equal(outcome.ok, true, `the app's calls failed: ${outcome.error}`);
    assert.equal(outcome.home, true, "the home timeline is a list");
    assert.match(outcome.posted, /posted from another origin/);
    assert.equal(outcome.newest, outcome.id, "the new post heads the home timeline");
    assert.match(outcome.link ?? "", /max_id=/, "the Link header is readable across origins");
  } finally {
    await browser.close();
  }
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`cross-origin app: FAILED at "${step}": ${e.stack || e}`);
}
for (const p of problems) console.error(`cross-origin app: ${p}`);
if (failed || problems.length) {
  console.error(`cross-origin app: 0 passed, 1 failed (${problems.length} page problems)`);
  process.exit(1);
}
console.log("cross-origin app: 1 passed, 0 failed");

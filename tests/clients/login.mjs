// The browser step of OAuth, done with plain HTTP (Node's fetch): open kith's real
// authorize page, submit its login-and-consent form (hidden fields and CSRF token
// included) with the owner's password, and read the authorization code from the
// redirect's Location or from the out-of-band page's #authorization-code.
//
// Settings come from the environment the Rust harness (tests/clients/main.rs) sets.

export const URL_BASE = process.env.KITH_URL ?? "";
export const PASSWORD = process.env.KITH_PASSWORD ?? "";
export const IMAGE = process.env.KITH_IMAGE ?? "";
// The handle of the second kith that followed and mentioned the owner before the test.
export const PEER = process.env.KITH_PEER ?? "";
export const OOB = "urn:ietf:wg:oauth:2.0:oob";

const unescape = (s) =>
  s
    .replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");

function attribute(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return m ? unescape(m[1]) : undefined;
}

/** Returns the authorization code kith gives for `authorizeUrl`. */
export async function browserLogin(authorizeUrl, password = PASSWORD) {
  const page = await fetch(authorizeUrl, { redirect: "manual" });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`authorize page: ${page.status} ${html.slice(0, 300)}`);
  const formStart = html.indexOf("<form");
  const formEnd = html.indexOf("</form>", formStart);
  if (formStart < 0 || formEnd < 0) throw new Error("the authorize page has no form");
  const form = html.slice(formStart, formEnd);
  const action = attribute(form.slice(0, form.indexOf(">")), "action");
  const fields = new URLSearchParams();
  for (const m of form.matchAll(/<input\b[^>]*>/g)) {
    const name = attribute(m[0], "name");
    if (name) fields.append(name, name === "password" ? password : (attribute(m[0], "value") ?? ""));
  }
  if (!fields.has("csrf_token")) throw new Error("the authorize form has no CSRF token");
  const answer = await fetch(new URL(action, page.url), {
    method: "POST",
    body: fields,
    redirect: "manual",
  });
  const location = answer.headers.get("location");
  if (answer.status >= 300 && answer.status < 400 && location) {
    return new URL(location).searchParams.get("code");
  }
  const done = await answer.text();
  if (answer.status !== 200) throw new Error(`authorize: ${answer.status} ${done.slice(0, 300)}`);
  const m = done.match(/id="authorization-code"[^>]*>([^<]+)</);
  if (!m) throw new Error("no #authorization-code on the page");
  return m[1].trim();
}

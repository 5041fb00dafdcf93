// `npm run test:browser` (its third part): single sign-on to the dashboard in
// Chromium. Starts the gateway as `npm run dev` does, with the mock
// upstream's OpenID provider configured, then: signs in with the provider as
// an organization admin (the mock approves at once, as the user it is told to
// be), sees who is signed in, creates a key, signs out; then signs in as a
// viewer, who gets no admin screens. The session cookie must be HttpOnly and
// SameSite=Lax, and the page must log no errors.

import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "../../dev/mock-upstream/credentials.ts";
import { artifacts, browserTest, check, freePort, watchedPage } from "./harness.ts";

const PORT = Number(process.env.BROWSER_SSO_TEST_PORT ?? 8799);
const base = `http://127.0.0.1:${PORT}`;

/** The mock's OpenID provider, on a port chosen before the gateway starts (its URL is in the gateway's settings). */
let oidc = "";

browserTest(
  "browser sso test",
  {
    port: PORT,
    env: async () => {
      const mockPort = await freePort();
      oidc = `http://127.0.0.1:${mockPort}${MOCK_OIDC_PATH}`;
      return {
        DEV_MOCK_PORT: String(mockPort),
        SSO_DISCOVERY_URL: oidc,
        SSO_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
        SSO_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
        SSO_ROLE_MAP: JSON.stringify({ "platform-admins": "org:admin", finance: "org:billing" }),
        SSO_ALLOWED_DOMAINS: "example.com",
        SSO_PROVIDER_NAME: "Mock IdP",
      };
    },
  },
  async ({ browser }) => {
    const become = (user: Record<string, unknown>) =>
      fetch(`${oidc}/users`, { method: "POST", body: JSON.stringify({ email_verified: true, ...user }) });
    const { context, page, problems } = await watchedPage(browser);

    // An organization admin.
    await become({ sub: "browser-admin", email: "ada@example.com", name: "Ada", groups: ["platform-admins"] });
    await page.goto(`${base}/dashboard/`);
    await page.click("a:has-text('Sign in with Mock IdP')");
    await page.waitForSelector(".who:has-text('ada@example.com (admin)')");
    check(page.url() === `${base}/dashboard/`, `the sign-in returned to ${page.url()}`);
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "sluice-session");
    check(
      session?.httpOnly && session.sameSite === "Lax",
      `the session cookie is ${JSON.stringify(session && { ...session, value: "…" })}`,
    );
    check(!cookies.some((cookie) => cookie.name === "sluice-sso"), "the sign-in cookie is spent");
    check(
      await page.evaluate(() => sessionStorage.getItem("sluice.credential") === null && !document.cookie.includes("sluice")),
      "no credential is within the page's reach",
    );
    await page.waitForSelector("[data-stat=Requests]");
    await page.screenshot({ path: `${artifacts}/sso-overview.png`, fullPage: true });

    await page.click("nav button:has-text('Keys')");
    const name = `sso-browser-${Date.now()}`;
    await page.fill("input[name=name]", name);
    await page.click("form.card button[type=submit]");
    const secret = await (await page.waitForSelector("[data-secret]")).textContent();
    check(secret?.startsWith("sk-"), `the new key's secret is shown once (${secret?.slice(0, 3)}…)`);
    await page.waitForSelector(`td:has-text('${name}')`);
    await page.screenshot({ path: `${artifacts}/sso-keys.png`, fullPage: true });

    await page.click("header button:has-text('Sign out')");
    await page.waitForSelector("a:has-text('Sign in with Mock IdP')");
    const after = await fetch(`${base}/admin/keys`, { headers: { cookie: `sluice-session=${session.value}` } });
    check(after.status === 401, `the signed-out session's cookie answers ${after.status}`);

    // Someone in finance: signed in, but no admin screens.
    await become({ sub: "browser-finance", email: "fin@example.com", name: "Fin", groups: ["finance"] });
    await page.click("a:has-text('Sign in with Mock IdP')");
    await page.waitForSelector("h2:has-text('Signed in as fin@example.com')");
    check(!(await page.isVisible("nav button:has-text('Keys')")), "a billing person sees no admin tabs");
    await page.screenshot({ path: `${artifacts}/sso-billing.png`, fullPage: true });

    check(problems.length === 0, `the page reported errors: ${problems.join(" | ")}`);
  },
);

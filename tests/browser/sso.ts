// `npm run test:browser` (its third part): single sign-on to the dashboard in
// Chromium. Starts the gateway as `npm run dev` does, with the mock
// upstream's OpenID provider configured, then: signs in with the provider as
// an organization admin (the mock approves at once, as the user it is told to
// be), sees who is signed in, creates a key, signs out; then signs in as a
// viewer, who gets no admin screens. The session cookie must be HttpOnly and
// SameSite=Lax, and the page must log no errors.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET, MOCK_OIDC_PATH } from "../../dev/mock-upstream/credentials.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const artifacts = `${root}tests/browser/artifacts`;
const PORT = Number(process.env.BROWSER_SSO_TEST_PORT ?? 8799);
const base = `http://127.0.0.1:${PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`browser sso test: ${message}`);
}

/** A port nothing listens on, for the mock (its identity provider's URL must be known before it starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitForHealth(deadline = Date.now() + 90_000): Promise<void> {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error("browser sso test: the gateway did not start");
}

async function main(): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  const mockPort = await freePort();
  const oidc = `http://127.0.0.1:${mockPort}${MOCK_OIDC_PATH}`;
  const gateway: ChildProcess = spawn("npx", ["tsx", "dev/dev.ts"], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(PORT),
      DEV_MOCK_PORT: String(mockPort),
      SSO_DISCOVERY_URL: oidc,
      SSO_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
      SSO_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
      SSO_ROLE_MAP: JSON.stringify({ "platform-admins": "org:admin", finance: "org:billing" }),
      SSO_ALLOWED_DOMAINS: "example.com",
      SSO_PROVIDER_NAME: "Mock IdP",
    },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const stop = () => {
    if (gateway.pid) {
      try {
        process.kill(-gateway.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", stop);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const become = (user: Record<string, unknown>) =>
    fetch(`${oidc}/users`, { method: "POST", body: JSON.stringify({ email_verified: true, ...user }) });
  try {
    await waitForHealth();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));

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
    console.log(`browser sso test: passed; screenshots in ${artifacts}`);
  } finally {
    await browser.close();
    stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

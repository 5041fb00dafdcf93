// `npm run test:browser`: the dashboard in a real browser. Starts the gateway
// as `npm run dev` does (its own port), makes a few requests, then drives
// Debian's Chromium headless: signs in with the admin key, reads the overview
// those requests produced, creates a key (its secret shown once), edits its
// limits and revokes it, sets a user's quota and blocks them, looks at a read-only session on a phone, and at /docs. Screenshots go to
// tests/browser/artifacts.
import type { Page } from "playwright-core";
import { artifacts, browserTest, check, watchedPage } from "./harness.ts";

const PORT = Number(process.env.BROWSER_TEST_PORT ?? 8797);
const base = `http://127.0.0.1:${PORT}`;

async function chat(key: string, model: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "dashboard data point" }] }),
  });
  await response.text();
  return response.status;
}

async function signIn(page: Page, credential: string): Promise<void> {
  await page.goto(`${base}/dashboard/`);
  await page.fill("input[name=credential]", credential);
  await page.click("button[type=submit]");
}

browserTest("browser test", { port: PORT }, async ({ browser, adminKey }) => {
  const key = adminKey();
  const failing = { "x-mock-fail": "500" };
  const statuses = [
    await chat(key, "mock-echo"),
    await chat(key, "mock-lorem"),
    await chat(key, "mock-echo"),
    await chat(key, "mock-lorem", failing),
  ];
  check(statuses.join() === "200,200,200,500", `requests answered ${statuses.join()}`);
  // Records reach the ledger through the queue within a second or two.
  await new Promise((resolve) => setTimeout(resolve, 3000));

  const { context, page, problems } = await watchedPage(browser);
  const response = await page.goto(`${base}/dashboard/`);
  const csp = response?.headers()["content-security-policy"] ?? "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), `the page's CSP is ${csp}`);

  await signIn(page, key);
  await page.waitForSelector("[data-stat=Requests]");
  await page.waitForFunction(() => Number(document.querySelector("[data-stat=Requests]")?.textContent) >= 4, undefined, {
    timeout: 15_000,
  });
  await page.waitForSelector("figure.chart canvas");
  const errorRate = await page.textContent("[data-stat='Error rate']");
  check(errorRate && Number.parseFloat(errorRate) > 0, `the error rate shows ${errorRate} after a failed request`);
  // Each table of the overview loads on its own: wait for spend by model's.
  const lorem = await page.waitForSelector("section tr:has(td:text-is('mock-lorem'))", { timeout: 15_000 }).then(
    () => true,
    () => false,
  );
  check(lorem, "spend by model lists mock-lorem");
  check(
    !(await page.evaluate(() => sessionStorage.getItem("sluice.credential") === null)),
    "the credential is in sessionStorage",
  );
  check((await context.cookies()).length === 0, "no cookies are set");
  await page.screenshot({ path: `${artifacts}/overview.png`, fullPage: true });

  await page.click("nav button:has-text('Keys')");
  const name = `browser-${Date.now()}`;
  await page.fill("input[name=name]", name);
  await page.fill("input[name=max_budget]", "5");
  await page.click("form.card button[type=submit]");
  const secret = await (await page.waitForSelector("[data-secret]")).textContent();
  check(secret?.startsWith("sk-"), `the new key's secret is shown once (${secret?.slice(0, 3)}…)`);
  check((await chat(secret ?? "", "mock-echo")) === 200, "the new key works");
  await page.waitForSelector(`td:has-text('${name}')`);
  await page.click(`tr:has(td:has-text('${name}')) button:has-text('Edit')`);
  await page.fill("input[name=edit-max_budget]", "7");
  await page.fill("input[name=edit-rpm_limit]", "120");
  await page.click("form.card button:has-text('Save')");
  await page.waitForSelector(`tr:has(td:has-text('${name}')) td:has-text('$7.00')`);
  await page.waitForSelector(`tr:has(td:has-text('${name}')) td:text-is('120')`);
  await page.screenshot({ path: `${artifacts}/keys.png`, fullPage: true });
  page.once("dialog", (dialog) => dialog.accept());
  await page.click(`tr:has(td:has-text('${name}')) button[data-revoke]`);
  await page.waitForSelector(`tr:has(td:has-text('${name}')) td:has-text('revoked')`);
  check((await chat(secret ?? "", "mock-echo")) === 401, "the revoked key is refused");

  // A user's quota, changed in place; then blocked.
  const person = `browser-user-${Date.now()}`;
  await fetch(`${base}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ id: person }),
  });
  await page.click("nav button:has-text('Users and teams')");
  await page.click(`tr:has(td:text-is('${person}')) button:has-text('Quota')`);
  await page.fill("input[name=quota-tokens_per_day]", "5000");
  await page.click("form.card button:has-text('Save')");
  await page.waitForSelector(`p.notice:has-text('Quota of ${person} saved.')`);
  const quota = await fetch(`${base}/admin/users/${person}`, { headers: { authorization: `Bearer ${key}` } });
  const saved = ((await quota.json()) as { quota: { tokens_per_day: number | null } }).quota.tokens_per_day;
  check(saved === 5000, `the quota saved from the page reads ${saved}`);
  await page.click(`tr:has(td:text-is('${person}')) button:has-text('Block')`);
  await page.waitForSelector(`tr:has(td:text-is('${person}')) td:text-is('blocked')`);
  await page.screenshot({ path: `${artifacts}/people.png`, fullPage: true });

  await page.click("nav button:has-text('Requests')");
  await page.waitForSelector("tr:has(td:has-text('mock-lorem')) td:text-is('500')");
  await page.screenshot({ path: `${artifacts}/requests.png`, fullPage: true });

  // A phone, signed in with a key of its own: read-only, its own usage.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  const mobile = await phone.newPage();
  const created = await fetch(`${base}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: `phone-${Date.now()}` }),
  });
  const own = ((await created.json()) as { key: string }).key;
  await chat(own, "mock-echo");
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await signIn(mobile, own);
  await mobile.waitForSelector(".who:has-text('read-only')");
  await mobile.waitForFunction(() => Number(document.querySelector("[data-stat=Requests]")?.textContent) === 1, undefined, {
    timeout: 15_000,
  });
  check(!(await mobile.isVisible("nav button:has-text('Keys')")), "a key holder sees no admin tabs");
  // Its own spend by model lists the one model it called, once the page has it.
  await mobile.waitForSelector("section tr:has(td:text-is('mock-echo'))", { timeout: 15_000 });
  await mobile.screenshot({ path: `${artifacts}/phone.png`, fullPage: true });

  // The API described: /docs renders /openapi.json under the same kind of policy.
  const docs = await context.newPage();
  docs.on("console", (message) => {
    if (message.type() === "error") problems.push(`docs: ${message.text()}`);
  });
  // Both static assets, built from the routes: the page under its own CSP, the document open to any origin.
  const docsPage = await docs.goto(`${base}/docs`);
  const docsCsp = docsPage?.headers()["content-security-policy"] ?? "";
  check(docsCsp.includes("script-src 'self'") && !docsCsp.includes("unsafe-inline"), `the docs page's CSP is ${docsCsp}`);
  const spec = await fetch(`${base}/openapi.json`, { headers: { origin: "https://elsewhere.example" } });
  const paths = Object.keys(((await spec.json()) as { paths: Record<string, unknown> }).paths);
  check(
    spec.headers.get("access-control-allow-origin") === "*" && paths.includes("/v1/chat/completions"),
    `/openapi.json answered ${spec.status} with ${paths.length} paths`,
  );
  await docs.waitForSelector("details summary:has-text('/v1/responses')");
  await docs.fill("#filter", "usage");
  check(!(await docs.isVisible("details:has-text('/v1/chat/completions')")), "the docs filter hides what does not match");
  await docs.screenshot({ path: `${artifacts}/docs.png`, fullPage: false });

  check(problems.length === 0, `the page reported errors: ${problems.join(" | ")}`);
});

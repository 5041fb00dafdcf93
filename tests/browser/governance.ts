// `npm run test:browser`: the dashboard's governance screens in Chromium.
// Starts the gateway as `npm run dev` does (its own port), signs in with the
// admin key, and through the page: writes a route whose weights are wrong
// (the server's error shown, naming the field), fixes and saves it, explains
// a request and checks the answer against what the gateway then does; adds
// an app (its publishable key shown), a guardrail (then edits it) and an MCP
// server (its secret never shown). Screenshots go to tests/browser/artifacts.
import type { Page } from "playwright-core";
import { artifacts, browserTest, check, watchedPage } from "./harness.ts";

const PORT = Number(process.env.GOVERNANCE_TEST_PORT ?? 8799);
const base = `http://127.0.0.1:${PORT}`;

/** Replaces a textarea's text as a person would, select-all then type. */
async function fillJson(page: Page, selector: string, value: unknown): Promise<void> {
  await page.fill(selector, JSON.stringify(value, null, 2));
}

async function routes(page: Page, key: string, stamp: string): Promise<void> {
  const name = `ui-route-${stamp}`;
  const rule = (canary: number) => ({
    name,
    description: "set from the dashboard",
    rule: {
      type: "match",
      cases: [{ name: "pro", when: [{ field: "tier", op: "eq", value: "pro" }], route: { type: "model", model: "mock-lorem" } }],
      default: {
        type: "split",
        by: "user",
        arms: [
          { name: "stable", weight: 90, route: { type: "model", model: "mock-echo" } },
          { name: "canary", weight: canary, route: { type: "model", model: "mock-lorem" } },
        ],
      },
    },
  });
  await page.click("nav button:has-text('Routes')");
  await page.click("button:has-text('New route')");
  await fillJson(page, "textarea[name=route-json]", rule(5));
  await page.click("form.editor button:has-text('Save')");
  const error = await (await page.waitForSelector("[data-route-error]")).textContent();
  check(error?.includes("weights add up to 95, not 100"), `a wrong split is refused, naming why: ${error}`);
  check(error?.includes("rule.default.arms"), `the error names where: ${error}`);
  check(await page.isVisible("textarea[aria-invalid=true]"), "the editor is marked invalid");
  await page.fill("textarea[name=route-json]", "{ not json");
  await page.click("form.editor button:has-text('Save')");
  await page.waitForSelector("[data-route-error]:has-text('Not JSON')");
  await page.screenshot({ path: `${artifacts}/routes-invalid.png`, fullPage: true });
  await fillJson(page, "textarea[name=route-json]", rule(10));
  await page.click("form.editor button:has-text('Save')");
  await page.waitForSelector(`tr:has(td:text-is('${name}')) td:text-is('mock-lorem, mock-echo')`);

  // Explain what the stored route does for a pro user, then send that request.
  await page.click(`tr:has(td:text-is('${name}')) button:has-text('Explain')`);
  await fillJson(page, "textarea[name=explain-json]", { caller: { principal: "user", tier: "pro" } });
  await page.click("form.editor button:has-text('Explain')");
  const explained = await (await page.waitForSelector("[data-explained]")).textContent();
  check(explained?.includes("mock-lorem") && explained.includes('tier eq "pro"'), `explain says why: ${explained}`);
  // The admin key is no user: it lands on the default, a split; the gateway names the arm it took.
  const served = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: name, messages: [{ role: "user", content: "hi" }] }),
  });
  await served.text();
  const arm = served.headers.get("x-sluice-route") ?? "";
  check(
    served.status === 200 && /^ui-route-\d+\/default\/(stable|canary)$/.test(arm),
    `the route served ${served.status} ${arm}`,
  );
  await page.screenshot({ path: `${artifacts}/routes.png`, fullPage: true });
}

async function apps(page: Page, stamp: string): Promise<void> {
  await page.click("nav button:has-text('Apps')");
  await page.click("button:has-text('New app')");
  await page.fill("input[name=id]", `ui-app-${stamp}`);
  await page.fill("input[name=name]", "Landing demo");
  await page.fill("input[name=allowed_origins]", "https://demo.example, http://localhost:5173");
  await page.fill("input[name=ios_bundle_ids]", "com.example.demo");
  await page.fill("input[name=models]", "mock-echo");
  await page.check("input[name=proof-turnstile]");
  await page.fill("input[name=device_rpm_limit]", "6");
  await page.fill("input[name=guest_usd_per_day]", "2");
  await page.click("form.card button:has-text('Save')");
  const pk = await (await page.waitForSelector("[data-publishable]")).textContent();
  check(pk?.startsWith("pk_"), `the publishable key is shown (${pk?.slice(0, 3)}…)`);
  const row = `tr:has(td:has-text('ui-app-${stamp}'))`;
  await page.waitForSelector(`${row} td:has-text('https://demo.example, http://localhost:5173, com.example.demo')`);
  await page.waitForSelector(`${row} td:text-is('turnstile')`);
  await page.waitForSelector(`${row} td:has-text('6 rpm, 20K tpm, 50K tokens/day')`);
  // A bad origin is refused by the server, and the page says which field.
  await page.click(`${row} button:has-text('Edit')`);
  await page.fill("input[name=allowed_origins]", "https://demo.example/path");
  await page.click("form.card button:has-text('Save')");
  await page.waitForSelector("form.card p.error:has-text('allowed_origins')");
  await page.fill("input[name=allowed_origins]", "https://demo.example");
  await page.fill("input[name=device_rpm_limit]", "");
  await page.click("form.card button:has-text('Save')");
  await page.waitForSelector(`${row} td .wrap:text-is('https://demo.example, com.example.demo')`);
  await page.waitForSelector(`${row} td .wrap:text-is('20K tpm, 50K tokens/day, $0.050/day')`);
  await page.click("button:has-text('Done')");
  await page.screenshot({ path: `${artifacts}/apps.png`, fullPage: true });
}

async function guardrails(page: Page, key: string, stamp: string): Promise<void> {
  const id = `ui-guard-${stamp}`;
  await page.click("nav button:has-text('Guardrails')");
  await page.click("button:has-text('New guardrail')");
  await page.fill("input[name=id]", id);
  await page.fill("input[name=name]", "Personal data");
  await page.check("input[name=kind-email]");
  await page.fill("textarea[name=patterns]", "ticket: /TICKET-\\d+/i");
  await page.click("form.card button:has-text('Save')");
  const row = `tr:has(td:has-text('${id}'))`;
  await page.waitForSelector(`${row} td:text-is('email, ticket')`);
  await page.click(`${row} button:has-text('Edit')`);
  await page.selectOption("select[name=mode]", "block");
  await page.click("form.card button:has-text('Save')");
  await page.waitForSelector(`${row} td:text-is('block')`);
  const stored = (await (
    await fetch(`${base}/admin/guardrails/${id}`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as {
    mode: string;
    options: { patterns: { name: string; regex: string; flags?: string }[] };
  };
  check(stored.mode === "block", `the guardrail's mode saved as ${stored.mode}`);
  check(
    stored.options.patterns.length === 1 &&
      stored.options.patterns[0]?.name === "ticket" &&
      stored.options.patterns[0].regex === "TICKET-\\d+" &&
      stored.options.patterns[0].flags === "i",
    `the pattern saved as ${JSON.stringify(stored.options.patterns)}`,
  );

  // A key that names the policy sends an email and is blocked; the screen's activity counts it.
  const minted = await fetch(`${base}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: `guarded-${stamp}`, settings: { guardrails: [id] } }),
  });
  const guarded = ((await minted.json()) as { key: string }).key;
  const refused = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${guarded}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "write to ada@example.com" }] }),
  });
  const refusal = (await refused.json()) as { error?: { code?: string } };
  check(refused.status === 400 && refusal.error?.code === "guardrail_blocked", `the guarded key's email got ${refused.status}`);
  const activity = `[data-guardrail-activity] tr:has(td:text-is('${id}'))`;
  // The ledger row lands a moment after the answer; the screen reads the ledger each time it is opened.
  for (let tries = 0; ; tries++) {
    await page.click("nav button:has-text('Apps')");
    await page.click("nav button:has-text('Guardrails')");
    const shown = await page.waitForSelector(activity, { timeout: 3000 }).then(
      () => true,
      () => false,
    );
    if (shown) break;
    check(tries < 10, `the blocked request never showed in the guardrail activity of ${id}`);
  }
  const cells = await page.$$eval(`${activity} td`, (tds) => tds.map((td) => td.textContent));
  check(cells[1] === "1" && cells[5] === "0", `the activity row for ${id} reads ${JSON.stringify(cells)}`);
  await page.waitForSelector("[data-guardrail-activity] figure.chart canvas");
  await page.screenshot({ path: `${artifacts}/guardrails.png`, fullPage: true });
}

async function mcp(page: Page, stamp: string): Promise<void> {
  const name = `ui-mcp-${stamp}`;
  const token = `very-secret-token-${stamp}`;
  await page.click("nav button:has-text('MCP servers')");
  await page.click("button:has-text('Add server')");
  await page.fill("input[name=name]", name);
  await page.fill("input[name=url]", "https://mcp.example/mcp");
  await page.selectOption("select[name=auth]", "bearer");
  await page.fill("input[name=token]", token);
  await page.fill("input[name=price_per_call_usd]", "0.002");
  await page.click("form.card button:has-text('Add server')");
  const row = `tr:has(td:text-is('${name}'))`;
  await page.waitForSelector(`${row} td:text-is('bearer …${token.slice(-4)}')`);
  await page.waitForSelector(`${row} td:text-is('$0.0020')`);
  check(!(await page.content()).includes(token), "the server's token is not on the page");
  await page.screenshot({ path: `${artifacts}/mcp.png`, fullPage: true });
}

browserTest("governance browser test", { port: PORT }, async ({ browser, adminKey }) => {
  const key = adminKey();
  // A refused save is a 4xx the page shows; the browser logs the failed fetch too.
  const { page, problems } = await watchedPage(browser, /status of 4\d\d/);
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${base}/dashboard/`);
  await page.fill("input[name=credential]", key);
  await page.click("button[type=submit]");
  await page.waitForSelector("nav button:has-text('Routes')");
  const stamp = String(Date.now());
  try {
    await routes(page, key, stamp);
    await apps(page, stamp);
    await guardrails(page, key, stamp);
    await mcp(page, stamp);
  } catch (error) {
    await page.screenshot({ path: `${artifacts}/governance-failure.png`, fullPage: true });
    throw error;
  }
  check(problems.length === 0, `the page reported errors: ${problems.join(" | ")}`);
});

// `npm run test:browser`, second part: the example app without a backend
// (/examples/chat, EXAMPLES=on) in Debian's Chromium. Starts the gateway as
// `npm run dev` does (its own port), registers an app for the page's origin,
// and in the page exchanges the publishable key, streams an answer and shows
// the guest's remaining quota; then the same page for an app that does not
// list the origin fails, saying so. Screenshots go to tests/browser/artifacts.
import { artifacts, browserTest, check, watchedPage } from "./harness.ts";

const PORT = Number(process.env.BROWSER_APPS_TEST_PORT ?? 8798);
const base = `http://127.0.0.1:${PORT}`;

async function registerApp(key: string, origins: string[]): Promise<string> {
  const response = await fetch(`${base}/admin/apps`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Browser example", allowed_origins: origins, models: ["mock-echo"] }),
  });
  const body = (await response.json()) as { publishable_key?: string };
  check(response.status === 201 && body.publishable_key, `registering the app answered ${response.status}`);
  return body.publishable_key;
}

browserTest("browser test (example app)", { port: PORT, env: () => ({ EXAMPLES: "on" }) }, async ({ browser, adminKey }) => {
  const key = adminKey();
  const allowed = await registerApp(key, [base]);
  const elsewhere = await registerApp(key, ["https://another-site.example"]);

  const { context, page, problems } = await watchedPage(browser);
  const response = await page.goto(`${base}/examples/chat?pk=${allowed}&model=mock-echo`);
  const csp = response?.headers()["content-security-policy"] ?? "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), `the page's CSP is ${csp}`);
  await page.fill("#prompt", "streamed through a guest token");
  await page.click("#ask button[type=submit]");
  await page.waitForSelector("#answer[data-done=true]", { timeout: 20_000 });
  const answer = (await page.textContent("#answer")) ?? "";
  check(answer.includes("streamed through a guest token"), `the echoed answer is ${JSON.stringify(answer)}`);
  const minute = (await page.textContent("#minute")) ?? "";
  check(/^\d+ tokens left this minute$/.test(minute) && Number.parseInt(minute, 10) < 20_000, `the page says ${minute}`);
  // The day's total reads the ledger, which the answer reaches within a second or two.
  await page.waitForFunction(() => Number(document.getElementById("quota")?.dataset.left ?? 50_000) < 50_000, undefined, {
    timeout: 15_000,
  });
  const left = Number(await page.getAttribute("#quota", "data-left"));
  check(left > 0 && left < 50_000, `the quota shows ${left} of the default 50,000 tokens left`);
  const who = (await page.textContent("#app")) ?? "";
  check(/Guest of app_[0-9a-f]+ on device web-/.test(who), `the page says ${JSON.stringify(who)}`);
  await page.screenshot({ path: `${artifacts}/example-app.png`, fullPage: true });

  // The same page for an app that lists another site: the exchange is refused, and the page says why.
  // Its refused exchange is a console error of the browser's own; an uncaught one is still a problem.
  const refused = await context.newPage();
  refused.on("pageerror", (error) => problems.push(`refused: ${error.message}`));
  await refused.goto(`${base}/examples/chat?pk=${elsewhere}`);
  await refused.click("#ask button[type=submit]");
  await refused.waitForFunction(() => (document.getElementById("error")?.textContent ?? "").length > 0);
  const error = (await refused.textContent("#error")) ?? "";
  check(error.includes("is not one of this app's"), `the refusal shown is ${JSON.stringify(error)}`);
  check(((await refused.textContent("#answer")) ?? "") === "", "nothing was answered");
  await refused.screenshot({ path: `${artifacts}/example-app-refused.png`, fullPage: true });

  check(problems.length === 0, `the page reported errors: ${problems.join(" | ")}`);
});

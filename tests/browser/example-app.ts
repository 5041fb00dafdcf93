// `npm run test:browser`, second part: the example app without a backend
// (/examples/chat, EXAMPLES=on) in Debian's Chromium. Starts the gateway as
// `npm run dev` does (its own port), registers an app for the page's origin,
// and in the page exchanges the publishable key, streams an answer and shows
// the guest's remaining quota; then the same page for an app that does not
// list the origin fails, saying so. Screenshots go to tests/browser/artifacts.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const artifacts = `${root}tests/browser/artifacts`;
const PORT = Number(process.env.BROWSER_APPS_TEST_PORT ?? 8798);
const base = `http://127.0.0.1:${PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`browser test (example app): ${message}`);
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
  throw new Error("browser test (example app): the gateway did not start");
}

function adminKey(): string {
  const key = /^ADMIN_KEY="?([^"\n]+)"?$/m.exec(readFileSync(`${root}.dev.vars`, "utf8"))?.[1];
  check(key, "no ADMIN_KEY in .dev.vars");
  return key;
}

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

async function main(): Promise<void> {
  check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  mkdirSync(artifacts, { recursive: true });
  const gateway: ChildProcess = spawn("npx", ["tsx", "dev/dev.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(PORT), EXAMPLES: "on" },
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
  try {
    await waitForHealth();
    const key = adminKey();
    const allowed = await registerApp(key, [base]);
    const elsewhere = await registerApp(key, ["https://another-site.example"]);

    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
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
    const refused = await context.newPage();
    await refused.goto(`${base}/examples/chat?pk=${elsewhere}`);
    await refused.click("#ask button[type=submit]");
    await refused.waitForFunction(() => (document.getElementById("error")?.textContent ?? "").length > 0);
    const error = (await refused.textContent("#error")) ?? "";
    check(error.includes("is not one of this app's"), `the refusal shown is ${JSON.stringify(error)}`);
    check(((await refused.textContent("#answer")) ?? "") === "", "nothing was answered");
    await refused.screenshot({ path: `${artifacts}/example-app-refused.png`, fullPage: true });

    check(problems.length === 0, `the page reported errors: ${problems.join(" | ")}`);
    console.log(`browser test (example app): passed; screenshots in ${artifacts}`);
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

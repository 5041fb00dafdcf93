// What every browser test shares: the gateway started as `npm run dev` starts
// it (on the test's own port, as a process group), its health awaited, the
// dev admin key read, Debian's Chromium launched headless, and all of it
// stopped however the test ends. A test's failure exits 1 with its message.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

export { freePort } from "../../dev/standins/http.ts";

export const root = fileURLToPath(new URL("../..", import.meta.url));
/** Where screenshots go. */
export const artifacts = `${root}tests/browser/artifacts`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export interface BrowserRun {
  /** The gateway's origin, `http://127.0.0.1:<port>`. */
  base: string;
  browser: Browser;
  /** The dev admin key `npm run dev` wrote to `.dev.vars`. */
  adminKey(): string;
}

/** A page of a fresh 1280×900 context, collecting the errors it reports: uncaught ones, and console errors but `ignored` ones. */
export async function watchedPage(browser: Browser, ignored?: RegExp) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !ignored?.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { context, page, problems };
}

async function waitForHealth(base: string, deadline = Date.now() + 90_000): Promise<void> {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error("the gateway did not start");
}

function adminKey(): string {
  const key = /^ADMIN_KEY="?([^"\n]+)"?$/m.exec(readFileSync(`${root}.dev.vars`, "utf8"))?.[1];
  check(key, "no ADMIN_KEY in .dev.vars");
  return key;
}

/**
 * Runs `body` against a gateway started by `dev/dev.ts` on `port` with `env`
 * added, in a fresh Chromium; prints `name: passed`, or its failure and exits 1.
 */
export function browserTest(
  name: string,
  options: { port: number; env?: () => Promise<Record<string, string>> | Record<string, string> },
  body: (run: BrowserRun) => Promise<void>,
): void {
  const run = async () => {
    check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    mkdirSync(artifacts, { recursive: true });
    const env = (await options.env?.()) ?? {};
    const gateway: ChildProcess = spawn("npx", ["tsx", "dev/dev.ts"], {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(options.port) },
      stdio: ["ignore", "ignore", "inherit"],
      detached: true,
    });
    const stop = () => {
      if (!gateway.pid) return;
      try {
        process.kill(-gateway.pid, "SIGTERM");
      } catch {
        // already gone
      }
    };
    process.on("exit", stop);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    try {
      const base = `http://127.0.0.1:${options.port}`;
      await waitForHealth(base);
      await body({ base, browser, adminKey });
    } finally {
      await browser.close();
      stop();
    }
  };
  run().then(
    () => {
      console.log(`${name}: passed; screenshots in ${artifacts}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

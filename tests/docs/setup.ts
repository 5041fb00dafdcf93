// The docs project's global setup: the gateway every page's examples run
// against, started in a process group of its own (tests/docs/serve.ts) and
// stopped with everything it started.
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";
import { ROOT } from "./markdown.ts";

declare module "vitest" {
  export interface ProvidedContext {
    docsGatewayUrl: string;
    docsMockUrl: string;
  }
}

/** The tools shell examples use, besides bash: named at once rather than as a failing example. */
function assertTools(): void {
  for (const tool of ["curl", "jq"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`docs examples need \`${tool}\` on the PATH (apt-get install ${tool})`);
    }
  }
}

export default async function setup(project: TestProject) {
  assertTools();
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT}tests/docs/serve.ts`], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
    detached: true,
  });
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, name);
    } catch {
      // Already gone.
    }
  };
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the docs gateway exited with ${code} before it answered`)));
  });
  const { url, mockUrl } = JSON.parse(line) as { url: string; mockUrl: string };
  project.provide("docsGatewayUrl", url);
  project.provide("docsMockUrl", mockUrl);
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    signal("SIGTERM");
    // A gateway that does not stop in time is stopped harder: a run must not hang on it.
    const timer = setTimeout(() => signal("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

// The docs project's global setup: the gateway every page's examples run against.
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { startDocsGateway } from "./gateway.ts";

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
  const gateway = await startDocsGateway();
  project.provide("docsGatewayUrl", gateway.url);
  project.provide("docsMockUrl", gateway.mockUrl);
  return () => gateway.close();
}

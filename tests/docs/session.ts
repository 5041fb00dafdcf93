// Runs one page's examples in order, as a reader would paste them into one
// terminal: shell blocks with `bash -euo pipefail`, TypeScript and JavaScript
// as ES modules with Node's own type stripping (what `npx tsx` would run, at
// half the start-up), each in a scratch directory of the page's own. A variable a shell
// block sets is there for the blocks after it (and in a TypeScript block's
// `process.env`), so a key minted in one block can be used in the next.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { CodeBlock } from "./markdown.ts";
import { ROOT } from "./markdown.ts";

export interface ExampleRun {
  code: number | null;
  output: string;
}

/** The local addresses a reader's examples use under `npm run dev`, and where they point in the suite. */
export interface Rewrites {
  gateway: string;
  mock: string;
}

const BLOCK_TIMEOUT_MS = 30_000;

/** `npm run dev`'s own addresses, written literally in some examples, become the suite's. */
export function rewrite(code: string, to: Rewrites): string {
  return code.replaceAll("http://127.0.0.1:8787", to.gateway).replaceAll("http://127.0.0.1:8090", to.mock);
}

export class PageSession {
  private readonly dir: string;
  private readonly state: string;
  private count = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly rewrites: Rewrites,
  ) {
    mkdirSync(`${ROOT}.data`, { recursive: true });
    // Inside the project, so an example's `import OpenAI from "openai"` finds node_modules.
    this.dir = mkdtempSync(`${ROOT}.data/docs-examples-`);
    this.state = `${this.dir}/state.sh`;
    writeFileSync(this.state, "");
  }

  run(block: CodeBlock): Promise<ExampleRun> {
    const code = rewrite(block.code, this.rewrites);
    const n = ++this.count;
    const script = `${this.dir}/block-${n}.sh`;
    if (block.kind === "typescript") {
      const module = `${this.dir}/block-${n}.mts`;
      writeFileSync(module, `${code}\n`);
      writeFileSync(script, this.wrap(`node ${JSON.stringify(module)}`));
    } else {
      writeFileSync(script, this.wrap(code));
    }
    return runBash(script, this.dir, this.env);
  }

  /** The block between the state earlier blocks left and the state it leaves (read-only variables excepted). */
  private wrap(body: string): string {
    const state = JSON.stringify(this.state);
    return [
      "set -euo pipefail",
      "set -a",
      `source ${state}`,
      body,
      "",
      `declare -px | grep -v '^declare -[a-zA-Z]*r' > ${state}.next && mv ${state}.next ${state}`,
      "",
    ].join("\n");
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<ExampleRun> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-euo", "pipefail", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => {
      output += `\n[docs-test: killed after ${BLOCK_TIMEOUT_MS / 1000} s]`;
      child.kill("SIGKILL");
    }, BLOCK_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

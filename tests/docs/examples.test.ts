// Every shell and TypeScript/JavaScript example in README.md and docs/*.md,
// run against the gateway tests/docs/setup.ts starts (the built Worker in
// workerd, the stand-ins, the mock upstream). A page's blocks run in order in
// one session (session.ts); a block marked `<!-- docs-test: skip (reason) -->`
// is listed as skipped with its reason. An example that exits non-zero (a
// curl answered 4xx/5xx, an SDK that throws) fails its test, with its output.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DOCS_ADMIN_KEY, DOCS_JWT, DOCS_WEBHOOK_SECRET } from "./gateway.ts";
import { type CodeBlock, codeBlocks, documentationFiles, readDoc } from "./markdown.ts";
import { PageSession } from "./session.ts";

const gateway = inject("docsGatewayUrl");
const mock = inject("docsMockUrl");

/** What a reader's shell holds under `npm run dev` (docs/api.md says how), and nothing else of this process's. */
const exampleEnv: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  LANG: "C.UTF-8",
  SLUICE: gateway,
  ADMIN_KEY: DOCS_ADMIN_KEY,
  JWT_SECRET: DOCS_JWT.secret,
  JWT_ISSUER: DOCS_JWT.issuer,
  JWT_AUDIENCE: DOCS_JWT.audience,
  BILLING_WEBHOOK_SECRET: DOCS_WEBHOOK_SECRET,
};

const runnable = (block: CodeBlock) => block.kind === "shell" || block.kind === "typescript" || block.kind === "foreign";

for (const file of documentationFiles()) {
  const examples = codeBlocks(file, readDoc(file)).filter(runnable);
  if (examples.length === 0) continue;

  describe.sequential(file, () => {
    let session: PageSession;
    /** The first example of the page that failed: the ones after it may depend on it, so they are not run. */
    let failed: string | undefined;
    beforeAll(() => {
      session = new PageSession(exampleEnv, { gateway, mock });
    });
    afterAll(() => session.close());

    for (const block of examples) {
      const name = `${file}:${block.line} ${block.lang}`;
      if (block.skip) {
        it.skip(`${name} — skipped: ${block.skip}`, () => undefined);
        continue;
      }
      it(name, async (context) => {
        if (failed) context.skip(`after ${failed}, which failed`);
        failed = name;
        expect(block.kind, `${name}: a ${block.lang} example cannot run here; mark it skip with its reason`).not.toBe("foreign");
        const run = await session.run(block);
        expect(run.code, `${name} exited ${run.code}:\n${run.output}\n--- the example ---\n${block.code}`).toBe(0);
        // `SLUICE_DOCS_SHOW=1 npx vitest run --project docs` prints what each example printed, to compare with its page.
        if (process.env.SLUICE_DOCS_SHOW) console.log(`${name}\n${run.output}`);
        failed = undefined;
      });
    }
  });
}

// The documentation against the code: every setting the config schema reads
// has its row in docs/configuration.md, every route of the app is described
// (its `doc()`, or docs/api.md), every route a page names exists, and every
// example follows the rules the docs suite runs it by. Each check is also
// shown failing on a page with something taken out.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS } from "../../src/config/index.ts";
import { collectRoutes } from "../../src/openapi/document.ts";
import { documentedApp } from "../../src/openapi/site.ts";
import {
  type AppRoute,
  brokenLinks,
  headingAnchor,
  uncheckedCurls,
  undescribedRoutes,
  undocumentedSettings,
  unknownRoutes,
  unknownSettings,
} from "../docs/coverage.ts";
import { codeBlocks, documentationFiles, namedRoutes, prose, ROOT, readDoc } from "../docs/markdown.ts";

const configuration = readDoc("docs/configuration.md");
const api = readDoc("docs/api.md");
const appRoutes: AppRoute[] = collectRoutes(documentedApp()).map((route) => ({
  method: route.method,
  path: route.path,
  documented: route.doc !== undefined,
}));
const files = documentationFiles();
const blocks = files.flatMap((file) => codeBlocks(file, readDoc(file)));

/** The tools around the Worker (dev launcher, bench, tests), where variables the Worker does not read come from. */
function toolSources(): string {
  const read = (dir: string): string[] =>
    readdirSync(`${ROOT}${dir}`, { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory())
        return ["node_modules", "results", ".peers", ".build", "docs"].includes(entry.name) ? [] : read(path);
      // This file names a variable nothing reads, to show the check failing.
      return /\.(ts|mjs|js)$/.test(entry.name) && path !== "tests/unit/docs.test.ts"
        ? [readFileSync(`${ROOT}${path}`, "utf8")]
        : [];
    });
  return [...read("dev"), ...read("bench"), ...read("tests")].join("\n");
}

describe("docs/configuration.md", () => {
  it("has a row, with its default and what it does, for every variable the config schema reads", () => {
    expect(CONFIG_KEYS.length).toBeGreaterThan(70);
    expect(CONFIG_KEYS).toEqual(
      expect.arrayContaining(["OPENAI_API_KEY", "BEDROCK_BASE_URL", "VERTEX_LOCATION", "MOCK_BASE_URL"]),
    );
    expect(undocumentedSettings(CONFIG_KEYS, configuration)).toEqual([]);
  });

  it("names no variable that nothing reads", () => {
    expect(unknownSettings(configuration, CONFIG_KEYS, toolSources())).toEqual([]);
  });

  it("fails when a variable's row is left out, or its default is", () => {
    const withoutRow = configuration.replace(/^\| `COOLDOWN` +\|.*$/m, "");
    expect(undocumentedSettings(CONFIG_KEYS, withoutRow)).toContain("COOLDOWN");
    const withoutDefault = configuration.replace(/^\| `TOKEN_TTL` +\| `15m` +\|/m, "| `TOKEN_TTL` | |");
    expect(undocumentedSettings(CONFIG_KEYS, withoutDefault)).toContain("TOKEN_TTL");
    const stale = `${configuration}\n| \`SLUICE_NO_SUCH_SETTING\` | \`1\` | nothing |\n`;
    expect(unknownSettings(stale, CONFIG_KEYS, toolSources())).toContain("SLUICE_NO_SUCH_SETTING");
  });
});

describe("routes in the docs", () => {
  it("every route of the app is described: by its doc() in /openapi.json, or in docs/api.md", () => {
    expect(appRoutes.length).toBeGreaterThan(60);
    expect(undescribedRoutes(appRoutes, namedRoutes("docs/api.md", api))).toEqual([]);
  });

  it("docs/api.md lists the public API by its routes", () => {
    const listed = namedRoutes("docs/api.md", api);
    expect(listed.length).toBeGreaterThan(50);
    expect(unknownRoutes(listed, appRoutes)).toEqual([]);
  });

  it("every route a page names is a route of the app", () => {
    const named = files.flatMap((file) => namedRoutes(file, readDoc(file)));
    expect(unknownRoutes(named, appRoutes).map((route) => `${route.file}: ${route.method} ${route.path}`)).toEqual([]);
  });

  it("fails when a route has neither, or a page names one that does not exist", () => {
    const bare = { method: "POST", path: "/admin/keys/:id/freeze", documented: false };
    expect(undescribedRoutes([...appRoutes, bare], namedRoutes("docs/api.md", api))).toContainEqual(bare);
    const mentioned = `${api}\n| \`POST /admin/keys/{id}/freeze\` | |\n`;
    expect(undescribedRoutes([...appRoutes, bare], namedRoutes("docs/api.md", mentioned))).not.toContainEqual(bare);
    const wrong = namedRoutes("docs/api.md", "`GET /admin/key/{id}`, `PATCH /v1/chat/completions`, `GET /__mock/hooks/billing`");
    expect(unknownRoutes(wrong, appRoutes).map((route) => `${route.method} ${route.path}`)).toEqual([
      "GET /admin/key/{id}",
      "PATCH /v1/chat/completions",
    ]);
  });
});

describe("links", () => {
  const read = (path: string) => (existsSync(`${ROOT}${path}`) ? readFileSync(`${ROOT}${path}`, "utf8") : undefined);

  it("every relative link leads to a file, and every anchor to a heading of it", () => {
    expect(files.flatMap((file) => brokenLinks(file, readDoc(file), read))).toEqual([]);
  });

  it("fails on a page that is not there, or a heading that is not", () => {
    expect(headingAnchor("Users' and teams' own keys")).toBe("users-and-teams-own-keys");
    expect(headingAnchor("One round trip, kept off the request's path")).toBe("one-round-trip-kept-off-the-requests-path");
    const page = "See [limits](limits.md#responses), [gone](gone.md) and [nowhere](routing.md#no-such-heading).";
    expect(brokenLinks("docs/page.md", page, read)).toEqual([
      "docs/page.md: gone.md (no such file)",
      "docs/page.md: routing.md#no-such-heading (no such heading)",
    ]);
  });
});

describe("examples", () => {
  it("every code block names a language the docs suite knows", () => {
    expect(blocks.filter((block) => !block.kind).map((block) => `${block.file}:${block.line} \`${block.lang}\``)).toEqual([]);
  });

  it("a block in a language the suite cannot run is marked skip, and every skip marker is well formed", () => {
    expect(blocks.filter((block) => block.kind === "foreign" && !block.skip).map((b) => `${b.file}:${b.line}`)).toEqual([]);
    const malformed = files.flatMap((file) =>
      prose(readDoc(file))
        .split("\n")
        .filter((line) => line.includes("docs-test:") && !/^\s*<!-- docs-test: skip \(.+\) -->\s*$/.test(line))
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(malformed).toEqual([]);
  });

  it("every curl of an example that runs fails on an HTTP error, or checks the answer itself", () => {
    const running = blocks.filter((block) => block.kind === "shell" && !block.skip);
    expect(running.length).toBeGreaterThan(30);
    const unchecked = running.flatMap((block) =>
      uncheckedCurls(block).map((curl) => `${block.file}:${block.line} curl ${curl.trim()}`),
    );
    expect(unchecked).toEqual([]);
  });

  it("reads skip markers and fences as the suite does, and catches a curl that ignores errors", () => {
    const page = [
      "<!-- docs-test: skip (needs a real account) -->",
      "```sh",
      "wrangler deploy",
      "```",
      "",
      "- a step:",
      "",
      "  ```sh",
      '  curl -sS "$SLUICE/health" |',
      "    jq .status",
      '  curl -sS --fail-with-body "$SLUICE/health"',
      "  curl -sS \"$SLUICE/v1/models\" | jq -e '.data'",
      "  ```",
      "",
      "```python",
      "print(1)",
      "```",
    ].join("\n");
    const [skipped, listed, python] = codeBlocks("page.md", page);
    expect(skipped).toMatchObject({ kind: "shell", skip: "needs a real account", line: 2 });
    expect(listed).toMatchObject({ kind: "shell", line: 8 });
    expect(listed?.skip).toBeUndefined();
    expect(listed?.code.startsWith('curl -sS "$SLUICE/health" |')).toBe(true);
    expect(python).toMatchObject({ kind: "foreign" });
    expect(listed && uncheckedCurls(listed).map((curl) => curl.replace(/\s+/g, " ").trim())).toEqual([
      '-sS "$SLUICE/health" | jq .status',
    ]);
  });
});

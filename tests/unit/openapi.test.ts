// The OpenAPI document, generated from the app's own routes and schemas:
// valid OpenAPI 3.1, every route in it, and every route docs/api.md lists.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { collectRoutes, openApiDocument } from "../../src/openapi/document.ts";
import { API_DOCS_HEADERS, apiDocsFiles, documentedApp } from "../../src/openapi/site.ts";

const app = documentedApp();
const document = openApiDocument(app) as {
  openapi: string;
  paths: Record<string, Record<string, { summary: string; requestBody?: unknown; parameters: { name: string; in: string }[] }>>;
};

/** docs/api.md's route tables: `METHOD /path` pairs (one per method of `GET|PATCH|DELETE /path`). */
function listedRoutes(): string[] {
  const page = readFileSync(`${import.meta.dirname}/../../docs/api.md`, "utf8");
  const tables = page.slice(page.indexOf("## Routes"), page.indexOf("## The SDKs"));
  return [
    ...tables.matchAll(/`((?:GET|POST|PUT|PATCH|DELETE)(?:\\\|(?:GET|POST|PUT|PATCH|DELETE))*) ([^`?]+)(?:\?[^`]*)?`/g),
  ].flatMap((m) => (m[1] ?? "").split("\\|").map((method) => `${method} ${m[2]}`));
}

describe("GET /openapi.json", () => {
  it("is valid OpenAPI 3.1", async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe("3.1.0");
  });

  it("has every route of the app, each with a summary of its own", () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    expect(operations.length).toBe(collectRoutes(app).length);
    const undocumented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        op.summary === `${method.toUpperCase()} ${path}` ? [`${method} ${path}`] : [],
      ),
    );
    expect(undocumented).toEqual([]);
  });

  it("lists every route docs/api.md lists", () => {
    const listed = new Set(
      Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    const documented = listedRoutes().map((route) =>
      route.replace(
        /\{model\}:(?:generateContent|streamGenerateContent|embedContent|batchEmbedContents|countTokens)$/,
        "{model}:{method}",
      ),
    );
    expect(documented.length).toBeGreaterThan(50);
    expect(documented.filter((route) => !listed.has(route))).toEqual([]);
  });

  it("describes request bodies and query parameters from the schemas that validate them", () => {
    const responses = document.paths["/v1/responses"]?.post as unknown as {
      requestBody: { content: { "application/json": { schema: { properties: Record<string, unknown>; required: string[] } } } };
    };
    const schema = responses.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["model", "input"]));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["instructions", "tools", "max_output_tokens"]));
    const usage = document.paths["/admin/usage"]?.get;
    expect(usage?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(["query:from", "query:group_by", "query:user_id", "query:format", "query:cursor"]),
    );
    expect(document.paths["/admin/keys/{id}"]?.patch?.parameters).toEqual([
      expect.objectContaining({ name: "id", in: "path", required: true }),
    ]);
  });
});

describe("the API described, as static assets", () => {
  const files = apiDocsFiles();

  it("is the generated document and the page that renders it, the page's script and styles its own", () => {
    expect(Object.keys(files).sort()).toEqual(["docs.html", "docs/docs.css", "docs/docs.js", "openapi.json"]);
    expect(JSON.parse(files["openapi.json"] ?? "{}")).toEqual(document);
    const html = files["docs.html"] ?? "";
    expect(html).toContain('<script src="/docs/docs.js" defer></script>');
    expect(html).toContain('<link rel="stylesheet" href="/docs/docs.css">');
    expect(html).not.toMatch(/<script>(?!<)/);
    expect(files["docs/docs.js"]).toContain("/openapi.json");
  });

  it("serves the page under a CSP that allows this origin's scripts only, and the document to any origin", () => {
    const rules = API_DOCS_HEADERS.split(/\n(?=\/)/).map((rule) =>
      rule
        .trim()
        .split("\n")
        .map((line) => line.trim()),
    );
    const headersOf = (path: string) => rules.find(([first]) => first === path)?.slice(1) ?? [];
    for (const path of ["/docs", "/docs/*"]) {
      const csp = headersOf(path).find((line) => line.startsWith("Content-Security-Policy:")) ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(headersOf(path)).toContain("X-Content-Type-Options: nosniff");
    }
    expect(headersOf("/openapi.json")).toEqual(
      expect.arrayContaining(["Access-Control-Allow-Origin: *", "X-Content-Type-Options: nosniff"]),
    );
  });
});

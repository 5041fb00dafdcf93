// Which tools a request offers, for `max_tools` and `denied_tools`: Gemini's
// built-ins and function declarations, legacy `functions`, the Responses API's
// namespaces and built-ins, Anthropic's server tools and MCP servers,
// Converse's `toolConfig` — each counted, and refused by the names the docs give.
import { describe, expect, it } from "vitest";
import { toolNames } from "../../src/guardrails/offered-tools.ts";
import { checkRequestLimits, type RequestLimits } from "../../src/guardrails/request-limits.ts";

const facts = { inputTokens: () => 0, outputCap: undefined };
const check = (body: Record<string, unknown>, limits: RequestLimits) => {
  const refused = checkRequestLimits(body, limits, facts);
  return (
    refused && {
      status: refused.error.status,
      code: refused.error.code,
      message: refused.error.message,
      param: refused.error.param,
      categories: refused.verdict.categories,
    }
  );
};
const deniedAs = (name: string, param = "tools") => ({
  status: 400,
  code: "request_limit_exceeded",
  message: `The tool \`${name}\` may not be offered by this caller.`,
  param,
  categories: ["denied_tools"],
});
const tooMany = (offered: number, most: number, param = "tools") => ({
  status: 400,
  code: "request_limit_exceeded",
  message: `The request offers ${offered} tools; this caller may offer at most ${most}.`,
  param,
  categories: ["max_tools"],
});
const chat = { messages: [{ role: "user", content: "hi" }] };

describe("Gemini's tools", () => {
  it("name each built-in by its key, snake_case, and refuse it in either spelling", () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      tools: [{ googleSearch: {} }, { codeExecution: {} }, { url_context: {} }, { googleSearchRetrieval: {} }],
    };
    expect(toolNames(body)).toEqual(["google_search", "code_execution", "url_context", "google_search_retrieval"]);
    expect(check(body, { denied_tools: ["google_search"] })).toEqual(deniedAs("google_search"));
    expect(check(body, { denied_tools: ["googleSearch"] })).toEqual(deniedAs("googleSearch"));
    expect(check(body, { denied_tools: ["code_execution"] })).toEqual(deniedAs("code_execution"));
    expect(check(body, { denied_tools: ["urlContext"] })).toEqual(deniedAs("urlContext"));
    expect(check(body, { max_tools: 3 })).toEqual(tooMany(4, 3));
    expect(check(body, { max_tools: 4, denied_tools: ["web_search", "lookup"] })).toBeUndefined();
  });

  it("count and name each function declaration, beside a built-in in the same entry", () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      tools: [{ functionDeclarations: [{ name: "lookup" }, { name: "delete_everything" }], googleSearch: {} }],
    };
    expect(toolNames(body)).toEqual(["lookup", "delete_everything", "google_search"]);
    expect(check(body, { denied_tools: ["delete_everything"] })).toEqual(deniedAs("delete_everything"));
    expect(check(body, { denied_tools: ["google_search"] })).toEqual(deniedAs("google_search"));
    expect(check(body, { max_tools: 2 })).toEqual(tooMany(3, 2));
    expect(check({ ...body, tools: [{ function_declarations: [{ name: "lookup" }] }] }, { max_tools: 1 })).toBeUndefined();
  });
});

describe("OpenAI chat", () => {
  it("counts and names legacy `functions`, refused at that field", () => {
    const body = { ...chat, functions: [{ name: "lookup" }, { name: "delete_everything", parameters: { type: "object" } }] };
    expect(toolNames(body)).toEqual(["lookup", "delete_everything"]);
    expect(check(body, { denied_tools: ["delete_everything"] })).toEqual(deniedAs("delete_everything", "functions"));
    expect(check(body, { max_tools: 1 })).toEqual(tooMany(2, 1, "functions"));
    expect(
      check({ ...chat, tools: [{ type: "function", function: { name: "a" } }], functions: [{ name: "b" }] }, { max_tools: 1 }),
    ).toEqual(tooMany(2, 1, "functions"));
    expect(check(body, { max_tools: 2, denied_tools: ["other"] })).toBeUndefined();
  });

  it("names a custom tool by its own name, not its type", () => {
    const body = { ...chat, tools: [{ type: "custom", custom: { name: "run_sql" } }] };
    expect(toolNames(body)).toEqual(["run_sql"]);
    expect(check(body, { denied_tools: ["run_sql"] })).toEqual(deniedAs("run_sql"));
    expect(check(body, { denied_tools: ["custom"] })).toBeUndefined();
  });
});

describe("the Responses API's tools", () => {
  const namespaced = {
    input: "hi",
    tools: [
      {
        type: "namespace",
        name: "ns",
        tools: [
          { type: "function", name: "lookup" },
          { type: "function", name: "delete_everything" },
        ],
      },
    ],
  };

  it("count each tool of a namespace, refused by its own name, its flat name or the namespace's", () => {
    expect(toolNames(namespaced)).toEqual(["lookup", "delete_everything"]);
    expect(check(namespaced, { denied_tools: ["delete_everything"] })).toEqual(deniedAs("delete_everything"));
    expect(check(namespaced, { denied_tools: ["ns__delete_everything"] })).toEqual(deniedAs("ns__delete_everything"));
    expect(check(namespaced, { denied_tools: ["ns"] })).toEqual(deniedAs("ns"));
    expect(check(namespaced, { max_tools: 1 })).toEqual(tooMany(2, 1));
    expect(check(namespaced, { max_tools: 2, denied_tools: ["other", "ns__other"] })).toBeUndefined();
  });

  it("name each built-in by its type (dated or not); a remote MCP server by `mcp` or its label", () => {
    const body = {
      input: "hi",
      tools: [
        { type: "web_search_preview_2025_03_11" },
        { type: "file_search", vector_store_ids: ["vs_1"] },
        { type: "code_interpreter", container: { type: "auto" } },
        { type: "image_generation" },
        { type: "mcp", server_label: "deepwiki", server_url: "https://mcp.deepwiki.com/mcp" },
      ],
    };
    expect(toolNames(body)).toEqual([
      "web_search_preview_2025_03_11",
      "file_search",
      "code_interpreter",
      "image_generation",
      "mcp",
    ]);
    for (const name of ["web_search_preview", "file_search", "code_interpreter", "image_generation", "mcp", "deepwiki"]) {
      expect(check(body, { denied_tools: [name] })).toEqual(deniedAs(name));
    }
    expect(check(body, { denied_tools: ["web_search", "function"] })).toBeUndefined();
  });
});

describe("Anthropic's tools", () => {
  it("name a server tool by its name, and refuse it by its type too", () => {
    const body = {
      ...chat,
      tools: [
        { type: "web_search_20250305", name: "web_search", max_uses: 3 },
        { name: "lookup", input_schema: { type: "object" } },
      ],
    };
    expect(toolNames(body)).toEqual(["web_search", "lookup"]);
    expect(check(body, { denied_tools: ["web_search"] })).toEqual(deniedAs("web_search"));
    expect(check(body, { denied_tools: ["web_search_20250305"] })).toEqual(deniedAs("web_search_20250305"));
    expect(check(body, { denied_tools: ["web_fetch", "custom"] })).toBeUndefined();
  });

  it("count each MCP server as a tool, refused as `mcp` or by its name", () => {
    const body = { ...chat, mcp_servers: [{ type: "url", url: "https://mcp.example.com/sse", name: "example" }] };
    expect(toolNames(body)).toEqual(["mcp"]);
    expect(check(body, { denied_tools: ["mcp"] })).toEqual(deniedAs("mcp", "mcp_servers"));
    expect(check(body, { denied_tools: ["example"] })).toEqual(deniedAs("example", "mcp_servers"));
    expect(check(body, { max_tools: 0 })).toEqual(tooMany(1, 0, "mcp_servers"));
  });
});

describe("Bedrock Converse's tools", () => {
  it("count and name each `toolConfig` tool; a cache point is none", () => {
    const body = {
      ...chat,
      toolConfig: {
        tools: [
          { toolSpec: { name: "lookup" } },
          { cachePoint: { type: "default" } },
          { systemTool: { name: "nova_grounding" } },
        ],
      },
    };
    expect(toolNames(body)).toEqual(["lookup", "nova_grounding"]);
    expect(check(body, { denied_tools: ["nova_grounding"] })).toEqual(deniedAs("nova_grounding", "toolConfig.tools"));
    expect(check(body, { max_tools: 1 })).toEqual(tooMany(2, 1, "toolConfig.tools"));
    expect(check(body, { max_tools: 2, denied_tools: ["other"] })).toBeUndefined();
  });
});

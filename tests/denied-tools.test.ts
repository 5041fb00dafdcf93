// `denied_tools` and `max_tools` hold for every way a request can offer a
// tool: Gemini's built-ins and function declarations, legacy `functions` on
// chat, the Responses API's namespaces, Anthropic's server tools and MCP
// servers. A refusal is a 400 in the caller's format before anything goes
// upstream, with a ledger row; a tool the caller may offer still reaches the
// provider as sent.
import { describe, expect, it } from "vitest";
import { BASE, callWorker, mockProviderBindings, upstreamRequest, usageRow } from "./helpers.ts";
import { admin } from "./identity.ts";

const limitedKey = async (limits: Record<string, unknown>) => {
  const made = await admin("POST", "/admin/keys", { settings: { request_limits: limits } });
  expect(made.status).toBe(201);
  return String(made.body.key);
};

const post = (path: string, headers: Record<string, string>, body: unknown) =>
  callWorker(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    mockProviderBindings,
  );

type Call = Awaited<ReturnType<typeof post>>;
const idOf = (call: Call) => call.response.headers.get("x-request-id") ?? "";

/** The refusal reached no provider, and its ledger row names the limit. */
async function refusedBeforeUpstream(call: Call, limit: string) {
  await call.settled();
  await expect(upstreamRequest(idOf(call))).rejects.toThrow();
  const row = await usageRow(idOf(call));
  expect(row).toMatchObject({ status: 400, attempts: 0, costUsd: 0 });
  expect(row?.metadata.guardrails).toEqual([
    { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: [limit] },
  ]);
}

/** What the provider received for an allowed call. */
async function sentUpstream(call: Call) {
  expect(call.response.status).toBe(200);
  await call.settled();
  return (await upstreamRequest(idOf(call))).body;
}

const openaiRefusal = (message: string, param: string) => ({
  error: { message, type: "invalid_request_error", code: "request_limit_exceeded", param },
});

describe("Gemini's tools", () => {
  const generate = (key: string, tools: unknown[]) =>
    post(
      "/v1beta/models/gemini%2Fmock-echo:generateContent",
      { "x-goog-api-key": key },
      { contents: [{ role: "user", parts: [{ text: "hi" }] }], tools },
    );

  it("refuse a denied built-in in either spelling, count each declaration, and pass an allowed function", async () => {
    const key = await limitedKey({ denied_tools: ["google_search", "codeExecution"], max_tools: 2 });
    for (const [tool, name] of [
      [{ googleSearch: {} }, "google_search"],
      [{ google_search: {} }, "google_search"],
      [{ code_execution: {} }, "codeExecution"],
    ] as const) {
      const refused = await generate(key, [tool]);
      expect(refused.response.status).toBe(400);
      expect(await refused.response.json()).toEqual({
        error: {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: `The tool \`${name}\` may not be offered by this caller.`,
        },
      });
      await refusedBeforeUpstream(refused, "denied_tools");
    }
    const three = await generate(key, [{ functionDeclarations: [{ name: "a" }, { name: "b" }, { name: "c" }] }]);
    expect(three.response.status).toBe(400);
    expect(await three.response.json()).toEqual({
      error: { code: 400, status: "INVALID_ARGUMENT", message: "The request offers 3 tools; this caller may offer at most 2." },
    });
    await refusedBeforeUpstream(three, "max_tools");

    const allowed = [{ functionDeclarations: [{ name: "lookup" }], urlContext: {} }];
    expect((await sentUpstream(await generate(key, allowed))).tools).toEqual(allowed);
  });
});

describe("legacy `functions` on chat completions", () => {
  const chat = (key: string, functions: unknown[]) =>
    post(
      "/v1/chat/completions",
      { authorization: `Bearer ${key}` },
      { model: "openai/mock-echo", messages: [{ role: "user", content: "hi" }], functions },
    );

  it("are counted and refused by name, and an allowed one is forwarded", async () => {
    const key = await limitedKey({ denied_tools: ["delete_everything"], max_tools: 1 });
    const denied = await chat(key, [{ name: "delete_everything", parameters: { type: "object" } }]);
    expect(denied.response.status).toBe(400);
    expect(await denied.response.json()).toEqual(
      openaiRefusal("The tool `delete_everything` may not be offered by this caller.", "functions"),
    );
    await refusedBeforeUpstream(denied, "denied_tools");

    const two = await chat(key, [{ name: "a" }, { name: "b" }]);
    expect(two.response.status).toBe(400);
    expect(await two.response.json()).toEqual(
      openaiRefusal("The request offers 2 tools; this caller may offer at most 1.", "functions"),
    );
    await refusedBeforeUpstream(two, "max_tools");

    const allowed = [{ name: "lookup", parameters: { type: "object" } }];
    expect((await sentUpstream(await chat(key, allowed))).functions).toEqual(allowed);
  });
});

describe("the Responses API's namespaces", () => {
  const respond = (key: string, tools: unknown[]) =>
    post("/v1/responses", { authorization: `Bearer ${key}` }, { model: "openai/mock-echo", input: "hi", tools });
  const namespace = (...names: string[]) => ({
    type: "namespace",
    name: "ns",
    tools: names.map((name) => ({ type: "function", name, parameters: { type: "object" } })),
  });

  it("count each inner tool and refuse one by its own name, and forward an allowed namespace", async () => {
    const key = await limitedKey({ denied_tools: ["delete_everything"], max_tools: 2 });
    const denied = await respond(key, [namespace("lookup", "delete_everything")]);
    expect(denied.response.status).toBe(400);
    expect(await denied.response.json()).toEqual(
      openaiRefusal("The tool `delete_everything` may not be offered by this caller.", "tools"),
    );
    await refusedBeforeUpstream(denied, "denied_tools");

    const three = await respond(key, [namespace("a", "b", "c")]);
    expect(three.response.status).toBe(400);
    expect(await three.response.json()).toEqual(
      openaiRefusal("The request offers 3 tools; this caller may offer at most 2.", "tools"),
    );
    await refusedBeforeUpstream(three, "max_tools");

    const allowed = [namespace("lookup", "spawn")];
    expect((await sentUpstream(await respond(key, allowed))).tools).toEqual(allowed);
  });
});

describe("Anthropic's server tools and MCP servers", () => {
  const messages = (key: string, extra: Record<string, unknown>) =>
    post(
      "/v1/messages",
      { "x-api-key": key, "anthropic-version": "2023-06-01" },
      { model: "anthropic/mock-echo", max_tokens: 64, messages: [{ role: "user", content: "hi" }], ...extra },
    );
  const anthropicRefusal = (message: string) => ({ type: "error", error: { type: "invalid_request_error", message } });

  it("refuse a server tool by its type and an MCP server as `mcp`, and forward an allowed tool", async () => {
    const key = await limitedKey({ denied_tools: ["web_search_20250305", "mcp"] });
    const search = await messages(key, { tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 2 }] });
    expect(search.response.status).toBe(400);
    expect(await search.response.json()).toEqual(
      anthropicRefusal("The tool `web_search_20250305` may not be offered by this caller."),
    );
    await refusedBeforeUpstream(search, "denied_tools");

    const mcp = await messages(key, { mcp_servers: [{ type: "url", url: "https://mcp.example.com/sse", name: "example" }] });
    expect(mcp.response.status).toBe(400);
    expect(await mcp.response.json()).toEqual(anthropicRefusal("The tool `mcp` may not be offered by this caller."));
    await refusedBeforeUpstream(mcp, "denied_tools");

    const allowed = [{ type: "web_fetch_20250910", name: "web_fetch", max_uses: 1 }];
    expect((await sentUpstream(await messages(key, { tools: allowed }))).tools).toEqual(allowed);
  });
});

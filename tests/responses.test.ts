// The OpenAI Responses API: forwarded as sent to providers that serve it,
// translated for every other, driven by the official SDK and by hand; and the
// tolerant reading of what today's coding agents send.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
  BASE,
  callWorker,
  jsonRequest,
  mockProviderBindings,
  TEST_ADMIN_KEY,
  upstreamRequest,
  usageRow,
  workerFetch,
} from "./helpers.ts";
import { admin, errorOf, uniqueId } from "./identity.ts";

const bindings = mockProviderBindings;

/** The official SDK with Sluice as its base URL; its fetch goes into the Worker. */
function sdk(pending: Promise<unknown>[]) {
  return new OpenAI({
    apiKey: TEST_ADMIN_KEY,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: workerFetch(pending, bindings),
  });
}

const send = (body: unknown, headers: Record<string, string> = {}) =>
  callWorker(jsonRequest("/v1/responses", body, headers), bindings);

/** Named SSE events: each event's name, and its data parsed. */
async function events(response: Response): Promise<{ event: string; data: Record<string, unknown> & { type: string } }[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      return { event, data: JSON.parse(data) };
    });
}

const lookup = {
  type: "function" as const,
  name: "lookup",
  description: "Looks a phrase up",
  parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  strict: false,
};

describe("POST /v1/responses to a provider that serves it: forwarded as sent", () => {
  it("goes up unchanged but for the model and the key, and comes back as the provider wrote it", async () => {
    const body = {
      model: "openai/mock-echo",
      input: [{ role: "user", content: [{ type: "input_text", text: "as sent" }] }],
      instructions: "Be brief.",
      store: false,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: "session-9",
      reasoning: { effort: "low", summary: "auto" },
    };
    const { response, settled } = await send(body);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("openai");
    expect(response.headers.get("x-sluice-dropped")).toBeNull();
    const answer = (await response.json()) as {
      id: string;
      object: string;
      output: { content: { text: string }[] }[];
      usage: unknown;
    };
    expect(answer.id).toMatch(/^resp_mock_/);
    expect(answer.output[0]?.content[0]?.text).toBe("as sent");
    // "Be brief." and "as sent": five tokens in, two out.
    expect(answer.usage).toMatchObject({ input_tokens: 5, output_tokens: 2, total_tokens: 7 });
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe("/v1/responses");
    expect(upstream.body).toEqual({ ...body, model: "mock-echo" });
    expect(upstream.headers.authorization).toBe("Bearer sk-test-openai-key");
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "openai",
      clientFormat: "openai-responses",
      promptTokens: 5,
      completionTokens: 2,
      streamed: false,
      status: 200,
    });
  });

  it("streams event by event, untouched, and meters the usage of response.completed", async () => {
    const { response, settled } = await send({ model: "openai/mock-echo", input: "one two three", stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const requestId = response.headers.get("x-request-id") ?? "";
    const list = await events(response);
    expect(list.map((e) => e.event)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(list.map((e) => e.data.sequence_number)).toEqual(list.map((_, i) => i));
    // Sluice asks chat completions streams for their usage; the Responses API would refuse the option.
    expect((await upstreamRequest(requestId)).body).toEqual({ model: "mock-echo", input: "one two three", stream: true });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "openai",
      clientFormat: "openai-responses",
      promptTokens: 3,
      completionTokens: 3,
      streamed: true,
      status: 200,
    });
  });

  it("forwards what only OpenAI can honour: a stored conversation, built-in tools", async () => {
    const { response } = await send({
      model: "openai/mock-echo",
      input: "continue",
      previous_response_id: "resp_abc",
      tools: [{ type: "web_search" }],
    });
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toMatchObject({ previous_response_id: "resp_abc", tools: [{ type: "web_search" }] });
  });
});

describe("POST /v1/responses to a provider of another dialect: translated", () => {
  it.each([
    ["anthropic/mock-echo", "anthropic", "/v1/messages"],
    ["gemini/mock-echo", "gemini", "/v1beta/models/mock-echo:generateContent"],
    ["mock-echo", "mock", "/v1/chat/completions"],
  ])("%s: instructions, input items, sampling and the cap reach it; the answer is a response", async (model, provider, path) => {
    const { response, settled } = await send({
      model,
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "Answer in English." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "translated hello" }] },
      ],
      max_output_tokens: 50,
      temperature: 0.2,
      store: false,
      include: ["reasoning.encrypted_content"],
      parallel_tool_calls: false,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe(provider);
    expect(response.headers.get("x-sluice-dropped")).toBe("include, parallel_tool_calls");
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({
      object: "response",
      status: "completed",
      model,
      instructions: "Be brief.",
      max_output_tokens: 50,
      temperature: 0.2,
      store: false,
      output: [
        {
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "translated hello", annotations: [] }],
        },
      ],
      usage: { input_tokens: 9, output_tokens: 2, total_tokens: 11, input_tokens_details: { cached_tokens: 0 } },
    });
    expect(String(answer.id)).toMatch(/^resp_[0-9a-f]{32}$/);
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe(path);
    expect(JSON.stringify(upstream.body)).toContain("Be brief.\\nAnswer in English.");
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider,
      clientFormat: "openai-responses",
      promptTokens: 9,
      completionTokens: 2,
    });
  });

  it("streams the full event sequence, numbered, with usage in response.completed", async () => {
    const { response, settled } = await send({ model: "anthropic/mock-echo", input: "stream me please", stream: true });
    expect(response.status).toBe(200);
    const list = await events(response);
    const names = list.map((e) => e.event);
    expect(names.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(names.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(new Set(names.slice(4, -4))).toEqual(new Set(["response.output_text.delta"]));
    expect(list.every((e) => e.event === e.data.type)).toBe(true);
    expect(list.map((e) => e.data.sequence_number)).toEqual(list.map((_, i) => i));
    const text = list.flatMap((e) => (e.event === "response.output_text.delta" ? [String(e.data.delta)] : [])).join("");
    expect(text).toBe("stream me please");
    const done = list.at(-1)?.data.response as { status: string; output: unknown[]; usage: unknown };
    expect(done).toMatchObject({
      status: "completed",
      output: [{ type: "message", content: [{ type: "output_text", text: "stream me please" }] }],
      usage: { input_tokens: 3, output_tokens: 3, total_tokens: 6 },
    });
    const requestId = response.headers.get("x-request-id") ?? "";
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "anthropic",
      streamed: true,
      promptTokens: 3,
      completionTokens: 3,
    });
  });

  it("says `incomplete` when the answer hit max_output_tokens", async () => {
    const { response } = await send({ model: "mock-lorem", input: "go", max_output_tokens: 16 }, { "x-mock-tokens": "40" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      usage: { output_tokens: 16 },
    });
  });

  it("maps reasoning effort where the target has an equivalent: Gemini's thinking budget", async () => {
    const { response } = await send({ model: "gemini/mock-echo", input: "think", reasoning: { effort: "low" } });
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024 } });
  });

  it("sends custom tools (free-form input) as functions taking one string, and answers with custom_tool_call", async () => {
    const { response } = await send({
      model: "anthropic/mock-echo",
      input: "patch it",
      tools: [{ type: "custom", name: "apply_patch", description: "Applies a patch" }],
    });
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body.tools).toEqual([
      {
        name: "apply_patch",
        description: "Applies a patch",
        input_schema: {
          type: "object",
          properties: { input: { type: "string", description: "The tool's input, as free-form text." } },
          required: ["input"],
        },
      },
    ]);
    const answer = (await response.json()) as { output: Record<string, unknown>[] };
    expect(answer.output).toEqual([
      expect.objectContaining({ type: "custom_tool_call", name: "apply_patch", call_id: expect.stringMatching(/^call_mock_/) }),
    ]);
  });

  it("leaves out a built-in tool merely offered (as Codex offers web search), and names it", async () => {
    const { response } = await send({ model: "anthropic/mock-echo", input: "hi", tools: [lookup, { type: "web_search" }] });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-dropped")).toBe("tools:web_search");
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect((upstream.body.tools as { name: string }[]).map((t) => t.name)).toEqual(["lookup"]);
  });

  it("flattens a namespace's tools for the target, and names the call as the client named it", async () => {
    const namespace = { type: "namespace", name: "agents", description: "Sub-agents", tools: [{ ...lookup, name: "spawn" }] };
    const { response } = await send({ model: "gemini/mock-echo", input: "go", tools: [namespace, lookup] });
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    const declared = (upstream.body.tools as { functionDeclarations: { name: string }[] }[])[0]?.functionDeclarations;
    expect(declared?.map((d) => d.name)).toEqual(["agents__spawn", "lookup"]);
    const answer = (await response.json()) as { output: Record<string, unknown>[] };
    expect(answer.output).toEqual([expect.objectContaining({ type: "function_call", name: "spawn", namespace: "agents" })]);
    // Its call and output, sent back, reach the target under the flat name again.
    const call = answer.output[0] as { call_id: string; arguments: string };
    const next = await send({
      model: "gemini/mock-echo",
      tools: [namespace],
      input: [
        { role: "user", content: "go" },
        { type: "function_call", call_id: call.call_id, namespace: "agents", name: "spawn", arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: "spawned" },
      ],
    });
    expect(next.response.status).toBe(200);
    const again = await upstreamRequest(next.response.headers.get("x-request-id") ?? "");
    expect(JSON.stringify(again.body.contents)).toContain('"name":"agents__spawn"');
  });

  it.each([
    [
      { previous_response_id: "resp_abc" },
      "previous_response_id",
      "previous_response_id_unsupported",
      /whole conversation in `input`/,
    ],
    [{ store: true }, "store", "store_unsupported", /not stored/],
    [
      { tools: [lookup, { type: "web_search" }], tool_choice: { type: "web_search" } },
      "tool_choice",
      "unsupported_tool",
      /requires the built-in tool `web_search`, which runs only at OpenAI/,
    ],
    [
      { input: [{ type: "item_reference", id: "msg_1" }] },
      "input[0].type",
      "unsupported_input_item",
      /`item_reference` cannot be sent to `anthropic`/,
    ],
    [
      { input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] },
      "input[0].content[0]",
      "unsupported_content",
      /by file id is kept at OpenAI/,
    ],
  ])("refuses what translation cannot honour, by name, before any upstream call: %j", async (extra, param, code, message) => {
    const { response } = await send({ model: "anthropic/mock-echo", input: "hi", ...extra }, { "x-mock-fail": "500" });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; param: string; code: string; type: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", param, code });
    expect(body.error.message).toMatch(message);
  });

  it("refuses malformed input with the field named, in OpenAI's error shape", async () => {
    const cases: [unknown, RegExp][] = [
      [{ model: "mock-echo" }, /`input`: is required/],
      [{ model: "mock-echo", input: 5 }, /`input`: must be a string or an array of input items/],
      [{ model: "mock-echo", input: [{ type: "function_call", name: "f" }] }, /`input\.0\.call_id`: is required/],
      [{ model: "mock-echo", input: "x", tools: [{ type: "function" }] }, /`tools\.0\.name`: is required/],
      [{ model: "mock-echo", input: "x", max_output_tokens: "many" }, /`max_output_tokens`: must be a number/],
    ];
    for (const [body, message] of cases) {
      const { response } = await send(body);
      expect(response.status).toBe(400);
      const error = ((await response.json()) as { error: { message: string; type: string } }).error;
      expect(error.type).toBe("invalid_request_error");
      expect(error.message).toMatch(message);
    }
  });

  it("ends a broken translated stream with an error event in the Responses shape", async () => {
    const { response } = await send(
      { model: "mock-echo", input: "a b c d e f", stream: true },
      { "x-mock-fail": "cut:2", "x-mock-interval-ms": "20" },
    );
    const list = await events(response);
    expect(list[0]?.event).toBe("response.created");
    expect(list.at(-1)).toMatchObject({ event: "error", data: { type: "error", code: "upstream_error" } });
    expect(list.some((e) => e.event === "response.completed")).toBe(false);
  });
});

describe("the official openai SDK's responses.create", () => {
  it.each(["openai/mock-echo", "anthropic/mock-echo", "gemini/mock-echo"])(
    "%s: a function tool round trip, the call streamed and the answer not",
    async (model) => {
      const pending: Promise<unknown>[] = [];
      const client = sdk(pending);
      const stream = await client.responses.create({ model, input: "find this", tools: [lookup], stream: true });
      const calls: OpenAI.Responses.ResponseFunctionToolCall[] = [];
      let completed: OpenAI.Responses.Response | undefined;
      let argumentDeltas = "";
      for await (const event of stream) {
        if (event.type === "response.function_call_arguments.delta") argumentDeltas += event.delta;
        if (event.type === "response.output_item.done" && event.item.type === "function_call") calls.push(event.item);
        if (event.type === "response.completed") completed = event.response;
      }
      expect(calls).toHaveLength(1);
      const call = calls[0] as OpenAI.Responses.ResponseFunctionToolCall;
      expect(call.name).toBe("lookup");
      expect(JSON.parse(call.arguments)).toEqual({ text: "find this" });
      expect(argumentDeltas).toBe(call.arguments);
      expect(completed?.usage?.output_tokens).toBeGreaterThan(0);

      const answer = await client.responses.create({
        model,
        tools: [lookup],
        input: [
          { role: "user", content: "find this" },
          { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: "function_call_output", call_id: call.call_id, output: "42" },
        ],
      });
      expect(answer.output_text).toMatch(/^Tool said: .*42/);
      expect(answer.status).toBe("completed");
      await Promise.all(pending);
    },
  );

  it.each(["openai/mock-echo", "anthropic/mock-echo"])("%s: raises the SDK's own error for a gateway error", async (model) => {
    const client = sdk([]);
    const failure = client.responses.create({ model: model.replace("mock-echo", "no-such-model"), input: "x" });
    await expect(failure).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(failure).rejects.toMatchObject({ status: 404 });
  });
});

describe("a tolerant reader: what today's agents send", () => {
  it("Claude Code's request to a model of another provider: system turns among the messages, newer fields named as dropped", async () => {
    const body = {
      model: "gemini/mock-echo",
      max_tokens: 64,
      system: [{ type: "text", text: "You are Claude Code." }],
      messages: [
        { role: "user", content: [{ type: "text", text: "say hi" }] },
        { role: "system", content: "Tools are available." },
      ],
      output_config: { effort: "medium" },
      context_management: { edits: [] },
      metadata: { user_id: "u-1" },
      stream: false,
    };
    const { response } = await callWorker(
      new Request(`${BASE}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": TEST_ADMIN_KEY, "anthropic-version": "2023-06-01" },
        body: JSON.stringify(body),
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-dropped")).toBe("output_config, context_management, metadata");
    expect(await response.json()).toMatchObject({ type: "message", content: [{ type: "text", text: "say hi" }] });
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body.systemInstruction).toEqual({ parts: [{ text: "You are Claude Code.\nTools are available." }] });
  });
});

describe("POST /v1/responses forwarded to OpenAI: metered, or refused until it can be", () => {
  const asKey = (key: string, body: unknown) =>
    callWorker(jsonRequest("/v1/responses", body, { authorization: `Bearer ${key}` }), bindings);
  const budgetKey = async () => String((await admin("POST", "/admin/keys", { max_budget: 5 })).body.key);

  it("refuses a background response in OpenAI's error shape, streamed or not, and sends nothing upstream", async () => {
    for (const stream of [false, true]) {
      const { response } = await send({ model: "openai/mock-echo", input: "later", background: true, stream });
      expect(response.headers.get("content-type")).toContain("application/json");
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect({ status: response.status, ...body.error }).toMatchObject({
        status: 400,
        type: "invalid_request_error",
        code: "background_unsupported",
        param: "background",
        message: expect.stringContaining("could not meter"),
      });
      const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "").catch(() => undefined);
      expect(upstream).toBeUndefined();
    }
    // Translated for another provider, the gateway sees the answer: served, the field named as dropped.
    const translated = await send({ model: "anthropic/mock-echo", input: "later", background: true });
    expect(translated.response.status).toBe(200);
    expect(translated.response.headers.get("x-sluice-dropped")).toBe("background");
  });

  // A catalog model served by OpenAI at $10 in and $20 out; "hi there" is 2 tokens each way.
  const pricedGpt = async () => {
    const model = uniqueId("house-gpt");
    const created = await admin("POST", "/admin/models", {
      id: model,
      provider: "openai",
      upstream_id: "mock-echo",
      input_usd_per_mtok: 10,
      output_usd_per_mtok: 20,
    });
    expect(created.status).toBe(201);
    return model;
  };
  const served = async (key: string, body: Record<string, unknown>) => {
    let call = await asKey(key, body);
    // The isolate's catalog is re-read in the background: a model just created may take a moment to be seen.
    for (let tries = 0; call.response.status === 404 && tries < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      call = await asKey(key, body);
    }
    return call;
  };
  const tools = [
    { type: "web_search_preview" },
    { type: "file_search", vector_store_ids: ["vs_mock"] },
    { type: "code_interpreter", container: { type: "auto" } },
  ];
  // mock-echo is not a reasoning model: the search preview is $25 per 1,000 calls; file search $2.50; a container $0.03.
  const fees = 0.025 + 0.0025 + 0.03;

  it.each([false, true])(
    "meters web search, file search and code interpreter calls at OpenAI's fees (stream: %s)",
    async (stream) => {
      const model = await pricedGpt();
      const key = await budgetKey();
      const { response, landed } = await served(key, { model, input: "hi there", tools, stream });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain("web_search_call");
      await landed();
      const row = await usageRow(response.headers.get("x-request-id") ?? "");
      expect(row).toMatchObject({ provider: "openai", promptTokens: 2, completionTokens: 2, streamed: stream, status: 200 });
      expect(row?.metadata).toMatchObject({
        tool_calls: { web_search_preview: 1, file_search: 1, code_interpreter: 1 },
        tool_fees_usd: fees,
      });
      expect(row?.metadata).not.toHaveProperty("unpriced_tools");
      expect(row?.costUsd).toBeCloseTo((2 * 10 + 2 * 20) / 1e6 + fees, 15);
    },
  );

  it("prices the current web search tool at $10 per 1,000 calls", async () => {
    const model = await pricedGpt();
    const { response, landed } = await served(await budgetKey(), { model, input: "hi there", tools: [{ type: "web_search" }] });
    expect(response.status).toBe(200);
    await landed();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row?.metadata).toMatchObject({ tool_calls: { web_search: 1 }, tool_fees_usd: 0.01 });
    expect(row?.costUsd).toBeCloseTo((2 * 10 + 2 * 20) / 1e6 + 0.01, 15);
  });

  it("refuses a tool with no known price to a caller with a dollar budget, and records it unpriced for others", async () => {
    const model = await pricedGpt();
    const refused = await served(await budgetKey(), {
      model,
      input: "hi there",
      tools: [{ type: "function", name: "lookup" }, { type: "image_generation" }],
    });
    const body = (await refused.response.clone().json()) as { error: { param?: string } };
    expect(await errorOf(refused.response)).toMatchObject({
      status: 403,
      code: "tool_unpriced",
      message: expect.stringContaining("`image_generation` has no known price on `openai`"),
    });
    expect(body.error.param).toBe("tools[1]");
    expect(await upstreamRequest(refused.response.headers.get("x-request-id") ?? "").catch(() => undefined)).toBeUndefined();

    for (const stream of [false, true]) {
      const { response, landed } = await send({ model, input: "hi there", tools: [{ type: "image_generation" }], stream });
      expect(response.status).toBe(200);
      await response.text();
      await landed();
      const row = await usageRow(response.headers.get("x-request-id") ?? "");
      expect(row?.metadata).toMatchObject({
        tool_calls: { image_generation: 1 },
        tool_fees_usd: 0,
        unpriced_tools: ["image_generation"],
      });
      expect(row?.costUsd).toBeCloseTo((2 * 10 + 2 * 20) / 1e6, 15);
    }
  });
});

// Workers AI through the Worker's `AI` binding, with the stand-in bound in
// its place (it answers from the mock's Workers AI REST API).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { workersAiStandIn } from "../dev/standins/workers-ai-binding.ts";
import { callWorker, jsonRequest, mockProviderBindings, sseData, upstreamRequest, usageRow } from "./helpers.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const withAi = { ...mockProviderBindings, AI: workersAiStandIn(mockBase) };

describe("Workers AI through the AI binding", () => {
  it("runs a chat on the binding: the inputs it got, the answer and the usage it reported", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "workers-ai/mock-echo",
        max_tokens: 20,
        temperature: 0.4,
        messages: [
          { role: "system", content: "be kind" },
          { role: "user", content: "hello edge" },
        ],
      }),
      withAi,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("workers-ai");
    const body = (await response.json()) as { choices: { message: { content: string } }[]; usage: unknown };
    expect(body.choices[0]?.message.content).toBe("hello edge");
    expect(body.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 2 });
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe("/ai/run/mock-echo");
    expect(upstream.body).toEqual({
      messages: [
        { role: "system", content: "be kind" },
        { role: "user", content: "hello edge" },
      ],
      max_tokens: 20,
      temperature: 0.4,
    });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "workers-ai",
      upstreamModel: "mock-echo",
      promptTokens: 4,
      completionTokens: 2,
      status: 200,
    });
  });

  it("streams the binding's server-sent events, metered from its last one", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "workers-ai/mock-echo",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "one two three" }],
      }),
      withAi,
    );
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events
      .slice(0, -1)
      .map((data) => JSON.parse(data) as { choices: { delta: { content?: string } }[]; usage?: unknown });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("one two three");
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toMatchObject({ stream: true });
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      provider: "workers-ai",
      streamed: true,
      promptTokens: 3,
      completionTokens: 3,
    });
  });

  it("serves OpenAI's embeddings from an embedding model, its input as the binding's `text`", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/embeddings", { model: "workers-ai/@cf/baai/bge-base-en-v1.5", input: ["first text", "second"] }),
      withAi,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: { index: number; embedding: number[] }[]; model: string };
    expect(body.object).toBe("list");
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0]?.embedding).toHaveLength(8);
    expect(body.model).toBe("@cf/baai/bge-base-en-v1.5");
    const requestId = response.headers.get("x-request-id") ?? "";
    expect((await upstreamRequest(requestId)).body).toEqual({ text: ["first text", "second"] });
    await settled();
    // The binding reports no token counts for embeddings: the estimate is billed, and says so.
    expect(await usageRow(requestId)).toMatchObject({
      provider: "workers-ai",
      completionTokens: 0,
      metadata: { usage_estimated: true },
    });
  });

  it("routes Workers AI's own model ids to it by name", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "@cf/meta/llama-3.1-8b-instruct",
        messages: [{ role: "user", content: "by its own name" }],
      }),
      withAi,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("workers-ai");
    expect(await response.json()).toMatchObject({ choices: [{ message: { content: "by its own name" } }] });
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.path).toBe("/ai/run/@cf/meta/llama-3.1-8b-instruct");
  });

  it("answers a model Workers AI does not have with an honest 404, in the caller's format", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", { model: "workers-ai/mock-unknown", messages: [{ role: "user", content: "x" }] }),
      withAi,
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: expect.stringContaining("5007") } });
  });

  it("passes the binding's failures on with honest statuses, in the caller's format", async () => {
    const busy = {
      run: async () => {
        throw new Error("3040: Capacity temporarily exceeded, please try again.");
      },
    };
    const { response, settled } = await callWorker(
      jsonRequest("/v1/messages", { model: "workers-ai/mock-echo", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
      { ...mockProviderBindings, AI: busy },
    );
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error", message: expect.stringContaining("Capacity temporarily exceeded") },
    });
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ provider: "workers-ai", status: 429 });
  });

  it("is off when the Worker has no AI binding", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", { model: "workers-ai/mock-echo", messages: [{ role: "user", content: "x" }] }),
      mockProviderBindings,
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "model_not_found" } });
  });
});

describe("Workers AI through its REST API, when the Worker has no AI binding", () => {
  const withRest = { ...mockProviderBindings, WORKERS_AI_BASE_URL: `${mockBase}/ai`, WORKERS_AI_API_TOKEN: "cf-token-rest" };

  it("posts the inputs with the API token, unwraps `result`, and meters the usage it reported", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "@cf/meta/llama-3.1-8b-instruct",
        max_tokens: 20,
        messages: [{ role: "user", content: "over rest" }],
      }),
      withRest,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe("workers-ai");
    expect(await response.json()).toMatchObject({
      model: "@cf/meta/llama-3.1-8b-instruct",
      choices: [{ message: { role: "assistant", content: "over rest" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 2 },
    });
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe("/ai/run/@cf/meta/llama-3.1-8b-instruct");
    expect(upstream.headers.authorization).toBe("Bearer cf-token-rest");
    expect(upstream.body).toEqual({ messages: [{ role: "user", content: "over rest" }], max_tokens: 20 });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({
      provider: "workers-ai",
      upstreamModel: "@cf/meta/llama-3.1-8b-instruct",
      promptTokens: 2,
      completionTokens: 2,
      status: 200,
    });
  });

  it("streams its server-sent events as the caller's, in order, metered from the last", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/messages", {
        model: "workers-ai/@cf/meta/llama-3.1-8b-instruct",
        max_tokens: 50,
        stream: true,
        messages: [{ role: "user", content: "one two three" }],
      }),
      withRest,
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");
    expect(events).toContain("content_block_delta");
    const deltas = [...text.matchAll(/"text_delta","text":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(deltas).toBe("one two three");
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      provider: "workers-ai",
      streamed: true,
      promptTokens: 3,
      completionTokens: 3,
    });
  });

  it("serves embeddings from the unwrapped `{shape, data}`", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/embeddings", { model: "@cf/baai/bge-base-en-v1.5", input: "one text" }),
      withRest,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; model: string; data: { index: number; embedding: number[] }[] };
    expect(body).toMatchObject({ object: "list", model: "@cf/baai/bge-base-en-v1.5" });
    expect(body.data.map((d) => [d.index, d.embedding.length])).toEqual([[0, 8]]);
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.body).toEqual({ text: "one text" });
  });

  it("maps its `errors` codes to the same statuses as the binding's", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", { model: "workers-ai/mock-unknown", messages: [{ role: "user", content: "x" }] }),
      withRest,
    );
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: expect.stringMatching(/^5007: .*mock-unknown/) } });
  });

  it("leaves the REST API alone when the Worker has the binding", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "@cf/meta/llama-3.1-8b-instruct",
        messages: [{ role: "user", content: "x" }],
      }),
      { ...withRest, AI: workersAiStandIn(mockBase) },
    );
    expect(response.status).toBe(200);
    // The stand-in binding calls the mock without the REST token: the binding ran it.
    const upstream = await upstreamRequest(response.headers.get("x-request-id") ?? "");
    expect(upstream.headers.authorization).toBeUndefined();
  });
});

import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callWorker, jsonRequest, sseData, upstreamRequest, usageRow } from "./helpers.ts";

const mockBase = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const withAnthropic = { ...env, ANTHROPIC_BASE_URL: `${mockBase}/v1`, ANTHROPIC_API_KEY: "sk-ant-test-key" };

describe("POST /v1/completions", () => {
  it("forwards a legacy completion and records its usage", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/completions", { model: "mock-echo", prompt: "complete this", max_tokens: 10 }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; choices: { text: string }[]; usage: { prompt_tokens: number } };
    expect(body).toMatchObject({
      object: "text_completion",
      choices: [{ text: "complete this", finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 2 },
    });
    const requestId = response.headers.get("x-request-id") ?? "";
    expect((await upstreamRequest(requestId)).path).toBe("/v1/completions");
    await settled();
    expect(await usageRow(requestId)).toMatchObject({ promptTokens: 2, completionTokens: 2, status: 200 });
  });

  it("streams, and reaches providers of other dialects as a chat turn", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/completions", { model: "anthropic/mock-echo", prompt: "stream this prompt", stream: true }),
      withAnthropic,
    );
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const text = events
      .slice(0, -1)
      .map((data) => (JSON.parse(data) as { object: string; choices: { text: string }[] }).choices[0]?.text ?? "")
      .join("");
    expect(text).toBe("stream this prompt");
    expect((await upstreamRequest(response.headers.get("x-request-id") ?? "")).path).toBe("/v1/messages");
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({
      provider: "anthropic",
      promptTokens: 3,
      completionTokens: 3,
    });
  });
});

describe("POST /v1/embeddings", () => {
  it("forwards embeddings and records the input tokens", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/embeddings", { model: "mock-echo", input: ["embed me", "and me too"], encoding_format: "float" }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { embedding: number[]; index: number }[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    expect(body.data[0]?.embedding).toHaveLength(8);
    expect(body.usage.prompt_tokens).toBe(5);
    const requestId = response.headers.get("x-request-id") ?? "";
    const upstream = await upstreamRequest(requestId);
    expect(upstream.path).toBe("/v1/embeddings");
    expect(upstream.body).toEqual({ model: "mock-echo", input: ["embed me", "and me too"], encoding_format: "float" });
    await settled();
    expect(await usageRow(requestId)).toMatchObject({ promptTokens: 5, completionTokens: 0, status: 200 });
  });

  it("says which providers do not serve embeddings", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/embeddings", { model: "anthropic/mock-echo", input: "x" }),
      withAnthropic,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "embeddings_unsupported", param: "model" } });
  });
});

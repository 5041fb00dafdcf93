// Cohere as a provider and as a client format, beyond the matrix: what a
// translated request looks like at Cohere, a Cohere body forwarded as sent,
// errors in the caller's own shape, embeddings through `/v2/embed`, and rerank.
import { describe, expect, it } from "vitest";
import { cohereBindings as bindings } from "./cohere-bindings.ts";
import { callWorker, jsonRequest, sseData, upstreamRequest, usageRow } from "./helpers.ts";

const requestId = (response: Response) => response.headers.get("x-request-id") ?? "";

describe("Cohere as a provider", () => {
  it("gets a v2 chat body: system, images, tools, tool choice, sampling and the output cap", async () => {
    const png = "iVBORw0KGgo=";
    const parameters = { type: "object", properties: { text: { type: "string" } } };
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", {
        model: "cohere/mock-echo",
        max_tokens: 40,
        temperature: 0.5,
        top_p: 0.9,
        stop: ["END"],
        tools: [
          { type: "function", function: { name: "lookup", parameters } },
          { type: "function", function: { name: "other", parameters } },
        ],
        tool_choice: { type: "function", function: { name: "lookup" } },
        messages: [
          { role: "system", content: "You are terse." },
          {
            role: "user",
            content: [
              { type: "text", text: "describe" },
              { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
            ],
          },
        ],
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    const upstream = await upstreamRequest(requestId(response));
    expect(upstream.path).toBe("/v2/chat");
    expect(upstream.headers.authorization).toBe("Bearer cohere-test-key");
    expect(upstream.body).toEqual({
      model: "mock-echo",
      messages: [
        { role: "system", content: "You are terse." },
        {
          role: "user",
          content: [
            { type: "text", text: "describe" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
      // One named tool: the only one offered, and required.
      tools: [{ type: "function", function: { name: "lookup", parameters } }],
      tool_choice: "REQUIRED",
      max_tokens: 40,
      temperature: 0.5,
      p: 0.9,
      stop_sequences: ["END"],
    });
  });

  it("meters what Cohere billed, not its raw token counts, streamed and not", async () => {
    for (const stream of [false, true]) {
      const { response, settled } = await callWorker(
        jsonRequest("/v1/messages", {
          model: "cohere/mock-echo",
          max_tokens: 32,
          stream,
          messages: [{ role: "user", content: "count these four" }],
        }),
        bindings,
      );
      expect(response.status).toBe(200);
      if (stream) {
        const events = (await sseData(response)).map((data) => JSON.parse(data) as { type: string; usage?: unknown });
        expect(events.at(-2)).toMatchObject({ type: "message_delta", usage: { input_tokens: 3, output_tokens: 3 } });
      } else {
        expect(await response.json()).toMatchObject({ usage: { input_tokens: 3, output_tokens: 3 } });
      }
      await settled();
      expect(await usageRow(requestId(response))).toMatchObject({
        provider: "cohere",
        clientFormat: "anthropic",
        promptTokens: 3,
        completionTokens: 3,
      });
    }
  });

  it("passes on Cohere's refusal in the caller's format, the key taken out", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", { model: "cohere/mock-echo", messages: [{ role: "user", content: "x" }] }),
      { ...bindings, COHERE_API_KEY: "sk-reject-cohere-key" },
    );
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("authentication_error");
    expect(body.error.message).toContain("Incorrect API key provided");
    expect(body.error.message).not.toContain("sk-reject-cohere-key");
  });

  it("serves OpenAI's embeddings from /v2/embed: floats or base64, billed tokens, priced", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/embeddings", { model: "cohere/embed-v4.0", input: ["one two", "three"], dimensions: 256 }),
      bindings,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: { index: number; embedding: number[] }[]; usage: unknown };
    expect(body.object).toBe("list");
    expect(body.data.map((d) => [d.index, d.embedding.length])).toEqual([
      [0, 8],
      [1, 8],
    ]);
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const upstream = await upstreamRequest(requestId(response));
    expect(upstream.path).toBe("/v2/embed");
    expect(upstream.body).toEqual({
      model: "embed-v4.0",
      texts: ["one two", "three"],
      input_type: "search_document",
      embedding_types: ["float"],
      output_dimension: 256,
    });
    await settled();
    const row = await usageRow(requestId(response));
    expect(row).toMatchObject({ provider: "cohere", promptTokens: 3 });
    expect(Number(row?.costUsd)).toBeCloseTo((3 * 0.12) / 1_000_000, 12);

    const encoded = await callWorker(
      jsonRequest("/v1/embeddings", {
        model: "cohere/embed-v4.0",
        input: "one two",
        encoding_format: "base64",
        input_type: "search_query",
      }),
      bindings,
    );
    const [first] = ((await encoded.response.json()) as { data: { embedding: string }[] }).data;
    const floats = new Float32Array(Uint8Array.from(atob(first?.embedding ?? ""), (c) => c.charCodeAt(0)).buffer);
    expect(floats).toHaveLength(8);
    expect((await upstreamRequest(requestId(encoded.response))).body).toMatchObject({ input_type: "search_query" });
  });
});

describe("Cohere as a client format", () => {
  it("forwards a Cohere body to Cohere as sent, its own fields kept", async () => {
    const body = {
      model: "cohere/mock-echo",
      messages: [{ role: "user", content: "keep it all" }],
      documents: [{ id: "d1", data: { text: "a fact" } }],
      citation_options: { mode: "FAST" },
      safety_mode: "CONTEXTUAL",
      k: 5,
    };
    const { response } = await callWorker(jsonRequest("/v2/chat", body), bindings);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-dropped")).toBeNull();
    expect((await upstreamRequest(requestId(response))).body).toEqual({ ...body, model: "mock-echo" });
  });

  it("names what another provider cannot take", async () => {
    const { response } = await callWorker(
      jsonRequest("/v2/chat", {
        model: "openai/mock-echo",
        messages: [{ role: "user", content: "grounded" }],
        documents: ["a fact"],
        k: 5,
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-dropped")).toBe("k, documents");
    expect(await response.json()).toMatchObject({ finish_reason: "COMPLETE", message: { content: [{ text: "grounded" }] } });
  });

  it("refuses a bad body, and an unknown model, in Cohere's shape", async () => {
    const bad = await callWorker(jsonRequest("/v2/chat", { model: "cohere/mock-echo", messages: "hi" }), bindings);
    expect(bad.response.status).toBe(400);
    expect(await bad.response.json()).toEqual({ id: expect.any(String), message: expect.stringContaining("messages") });
    const unknown = await callWorker(
      jsonRequest("/v2/chat", { model: "nobody-serves-this", messages: [{ role: "user", content: "x" }] }),
      bindings,
    );
    expect(unknown.response.status).toBe(404);
    expect(await unknown.response.json()).toEqual({
      id: expect.any(String),
      message: expect.stringContaining("nobody-serves-this"),
    });
  });

  it("ends a stream that fails mid-way with Cohere's error event, never a clean end", async () => {
    const { response } = await callWorker(
      jsonRequest(
        "/v2/chat",
        { model: "mock-echo", stream: true, messages: [{ role: "user", content: "a b c d e f" }] },
        { "x-mock-fail": "event:2", "x-mock-fail-message": "overloaded mid-answer" },
      ),
      bindings,
    );
    expect(response.status).toBe(200);
    const events = (await sseData(response)).map((data) => JSON.parse(data) as { type: string; delta?: unknown });
    expect(events[0]?.type).toBe("message-start");
    expect(events.at(-1)).toEqual({
      type: "message-end",
      delta: { finish_reason: "ERROR", error: expect.stringContaining("overloaded mid-answer") },
    });
    expect(events.filter((event) => event.type === "message-end")).toHaveLength(1);
  });
});

describe("rerank", () => {
  it("goes only to providers that rerank, refused in Cohere's shape elsewhere", async () => {
    const { response } = await callWorker(
      jsonRequest("/v2/rerank", { model: "openai/mock-echo", query: "q", documents: ["a"] }),
      bindings,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ id: expect.any(String), message: expect.stringContaining("rerank") });
  });

  it("reaches a compatible server that reranks (vLLM), metered in the tokens it counts", async () => {
    const mockRoot = bindings.COHERE_BASE_URL.replace(/\/v2$/, "");
    const body = { model: "vllm/bge-reranker-v2-m3", query: "wine", documents: ["France has wine", "Berlin"] };
    const { response, settled } = await callWorker(jsonRequest("/v2/rerank", body), {
      ...bindings,
      VLLM_BASE_URL: `${mockRoot}/v1`,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ results: [{ index: 0 }, { index: 1 }], usage: { total_tokens: 5 } });
    const upstream = await upstreamRequest(requestId(response));
    expect(upstream.path).toBe("/v1/rerank");
    expect(upstream.body).toEqual({ ...body, model: "bge-reranker-v2-m3" });
    await settled();
    expect(await usageRow(requestId(response))).toMatchObject({ provider: "vllm", clientFormat: "cohere", promptTokens: 5 });
  });

  it("forwards the body as sent, and checks what it reads", async () => {
    const body = {
      model: "cohere/rerank-v3.5",
      query: "wine",
      documents: ["France has wine", "Berlin"],
      top_n: 1,
      max_tokens_per_doc: 512,
    };
    const { response } = await callWorker(jsonRequest("/v2/rerank", body), bindings);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ results: [{ index: 0 }], meta: { billed_units: { search_units: 1 } } });
    expect((await upstreamRequest(requestId(response))).body).toEqual({ ...body, model: "rerank-v3.5" });
    const bad = await callWorker(jsonRequest("/v2/rerank", { model: "cohere/rerank-v3.5", documents: ["a"] }), bindings);
    expect(bad.response.status).toBe(400);
    expect(await bad.response.json()).toMatchObject({ message: expect.stringContaining("query") });
  });
});

describe("guardrails on Cohere's own fields", () => {
  /** The admin API through the same bindings as the calls, so a change drops the catalog copy those calls read. */
  const admin = async (path: string, body: unknown) => {
    const { response } = await callWorker(jsonRequest(path, body), bindings);
    return (await response.json()) as { key?: string };
  };

  it("redact the grounding documents and the rerank query before they leave", async () => {
    const id = `gr-cohere-${crypto.randomUUID().slice(0, 8)}`;
    await admin("/admin/guardrails", { id, name: id, phase: "input", mode: "redact", kinds: ["email"] });
    const { key } = await admin("/admin/keys", { settings: { guardrails: [id] } });
    const withKey = (path: string, body: unknown) => jsonRequest(path, body, { authorization: `Bearer ${key}` });
    const chat = await callWorker(
      withKey("/v2/chat", {
        model: "cohere/mock-echo",
        messages: [{ role: "user", content: "who wrote it?" }],
        documents: ["written by ada@example.com"],
      }),
      bindings,
    );
    expect(chat.response.status).toBe(200);
    expect((await upstreamRequest(requestId(chat.response))).body.documents).toEqual([
      expect.not.stringContaining("ada@example.com"),
    ]);
    const rerank = await callWorker(
      withKey("/v2/rerank", { model: "cohere/rerank-v3.5", query: "mail ada@example.com", documents: ["a"] }),
      bindings,
    );
    expect(rerank.response.status).toBe(200);
    expect((await upstreamRequest(requestId(rerank.response))).body.query).not.toContain("ada@example.com");
  });
});

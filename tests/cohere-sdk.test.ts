// The official cohere-ai SDK, unmodified, with Sluice as its base URL and a
// Sluice key as its token; its fetch goes into the Worker instead of over a
// socket. Chat, chatStream and rerank, to Cohere and to other providers.
import { Cohere, CohereClientV2 } from "cohere-ai";
import { describe, expect, it } from "vitest";
import { cohereBindings } from "./cohere-bindings.ts";
import { BASE, TEST_ADMIN_KEY, usageRow, workerFetch } from "./helpers.ts";

function sdk(pending: Promise<unknown>[], token = TEST_ADMIN_KEY) {
  return new CohereClientV2({ token, baseUrl: BASE, fetch: workerFetch(pending, cohereBindings) });
}

const lookup: Cohere.ToolV2 = {
  type: "function",
  function: {
    name: "lookup",
    description: "Looks a phrase up",
    parameters: { type: "object", properties: { text: { type: "string" } } },
  },
};

describe("the official cohere-ai SDK", () => {
  it("chats with a Cohere model, usage as Cohere billed it, recorded as a Cohere call", async () => {
    const pending: Promise<unknown>[] = [];
    const { data, rawResponse } = await sdk(pending)
      .chat({ model: "cohere/mock-echo", messages: [{ role: "user", content: "hello Cohere SDK" }] })
      .withRawResponse();
    expect(data.message.content?.[0]).toMatchObject({ type: "text", text: "hello Cohere SDK" });
    expect(data.finishReason).toBe("COMPLETE");
    // Billed units, not the raw counts (which include Cohere's prompt template).
    expect(data.usage?.billedUnits).toMatchObject({ inputTokens: 3, outputTokens: 3 });
    await Promise.all(pending);
    expect(await usageRow(rawResponse.headers.get("x-request-id") ?? "")).toMatchObject({
      provider: "cohere",
      clientFormat: "cohere",
      promptTokens: 3,
      completionTokens: 3,
      streamed: false,
    });
  });

  it("chats with another provider's model, translated both ways", async () => {
    const pending: Promise<unknown>[] = [];
    const response = await sdk(pending).chat({
      model: "anthropic/mock-echo",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "across formats" }] },
      ],
    });
    expect(response.message.content?.[0]).toMatchObject({ type: "text", text: "across formats" });
    expect(response.usage?.billedUnits).toMatchObject({ outputTokens: 2 });
  });

  it("streams, its events in Cohere's order, usage in message-end", async () => {
    const pending: Promise<unknown>[] = [];
    for (const model of ["cohere/mock-echo", "openai/mock-echo"]) {
      const stream = await sdk(pending).chatStream({ model, messages: [{ role: "user", content: "stream through the SDK" }] });
      const types: string[] = [];
      let text = "";
      let end: Cohere.ChatMessageEndEventDelta | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === "content-delta") text += event.delta?.message?.content?.text ?? "";
        if (event.type === "message-end") end = event.delta;
      }
      expect(text).toBe("stream through the SDK");
      expect(types[0]).toBe("message-start");
      expect(types[1]).toBe("content-start");
      expect(types.slice(-2)).toEqual(["content-end", "message-end"]);
      expect(end).toMatchObject({ finishReason: "COMPLETE", usage: { billedUnits: { inputTokens: 4, outputTokens: 4 } } });
    }
    await Promise.all(pending);
  });

  it("calls a tool, streamed, and answers its result", async () => {
    const pending: Promise<unknown>[] = [];
    const client = sdk(pending);
    for (const model of ["cohere/mock-echo", "gemini/mock-echo"]) {
      const stream = await client.chatStream({ model, tools: [lookup], messages: [{ role: "user", content: "find this" }] });
      let call: { id: string; name: string; args: string } | undefined;
      let finish: string | undefined;
      for await (const event of stream) {
        if (event.type === "tool-call-start") {
          const started = event.delta?.message?.toolCalls;
          call = { id: started?.id ?? "", name: started?.function?.name ?? "", args: started?.function?.arguments ?? "" };
        }
        if (event.type === "tool-call-delta" && call) call.args += event.delta?.message?.toolCalls?.function?.arguments ?? "";
        if (event.type === "message-end") finish = event.delta?.finishReason;
      }
      expect(finish).toBe("TOOL_CALL");
      expect(call?.name).toBe("lookup");
      expect(JSON.parse(call?.args ?? "")).toEqual({ text: "find this" });
      const answer = await client.chat({
        model,
        tools: [lookup],
        messages: [
          { role: "user", content: "find this" },
          {
            role: "assistant",
            toolCalls: [{ id: call?.id ?? "", type: "function", function: { name: "lookup", arguments: call?.args } }],
          },
          { role: "tool", toolCallId: call?.id ?? "", content: "found 42" },
        ],
      });
      // Gemini wraps a tool result as `{result: …}`; the mock echoes what it got.
      expect(answer.message.content?.[0]?.type === "text" && answer.message.content[0].text).toMatch(/^Tool said: .*found 42/);
    }
  });

  it("reranks through Cohere, metered in search units and priced", async () => {
    const pending: Promise<unknown>[] = [];
    const { data, rawResponse } = await sdk(pending)
      .rerank({
        model: "cohere/rerank-v3.5",
        query: "capital of France",
        documents: ["Berlin is in Germany", "Paris is the capital of France", "France has wine"],
        topN: 2,
      })
      .withRawResponse();
    expect(data.results.map((result) => result.index)).toEqual([1, 2]);
    expect(data.meta?.billedUnits?.searchUnits).toBe(1);
    await Promise.all(pending);
    const row = await usageRow(rawResponse.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ provider: "cohere", model: "cohere/rerank-v3.5", clientFormat: "cohere", status: 200 });
    expect(row?.metadata).toMatchObject({ tool_calls: { search_units: 1 }, tool_fees_usd: 0.002 });
    expect(Number(row?.costUsd)).toBeCloseTo(0.002, 9);
  });

  it("raises the SDK's own error types, with Sluice's message", async () => {
    const pending: Promise<unknown>[] = [];
    const unknown = sdk(pending).chat({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    await expect(unknown).rejects.toBeInstanceOf(Cohere.NotFoundError);
    await expect(unknown).rejects.toMatchObject({ statusCode: 404, body: { message: expect.stringContaining("no-such-model") } });
    const refused = sdk(pending, "sk-not-a-key").chat({ model: "cohere/mock-echo", messages: [{ role: "user", content: "x" }] });
    await expect(refused).rejects.toBeInstanceOf(Cohere.UnauthorizedError);
  });
});

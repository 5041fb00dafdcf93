// Cloudflare Workers AI through the Worker's `AI` binding: models that run
// in the same network as the gateway, with no key and no egress. Text
// generation (messages, tools where the model takes them, streams) from any
// client format, and OpenAI's embeddings. On when the Worker has the binding
// (wrangler.toml's `[ai]`); locally and in tests a stand-in is bound in its
// place (dev/standins/workers-ai-binding.js).
import { openaiEmbeddingsCodec } from "../../formats/openai/upstream.ts";
import { workersAiCodec } from "../../formats/workers-ai/upstream.ts";
import type { Endpoint, EndpointCall, ProviderDescriptor } from "../types.ts";
import { runOnBinding } from "./binding.ts";
import { WORKERS_AI_PRICES } from "./prices.ts";

const BINDING = "AI";
/** Never fetched: requests to it go to the binding. */
const BINDING_URL = "https://workers-ai.binding";

const runRequest = (call: EndpointCall, inputs: Record<string, unknown>) =>
  new Request(`${call.settings.baseUrl || BINDING_URL}/run/${encodeURIComponent(call.upstreamModel)}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": call.requestId },
    body: JSON.stringify(inputs),
  });

const text: Endpoint = {
  dialect: "workers-ai",
  framing: "sse",
  codec: workersAiCodec,
  request: async (call) => runRequest(call, call.body),
  send: (request, { bindings, signal }) => runOnBinding(bindings, BINDING, request, { signal }),
};

/** OpenAI's embeddings: `input` goes in as `text`; `{shape, data}` comes back as OpenAI's list. */
const embeddings: Endpoint = {
  dialect: "openai-embeddings",
  framing: "sse",
  codec: openaiEmbeddingsCodec,
  request: async (call) => {
    const { model: _model, input, encoding_format: _format, user: _user, ...rest } = call.body;
    return runRequest(call, { ...rest, text: input });
  },
  send: (request, { bindings, signal }) =>
    runOnBinding(bindings, BINDING, request, {
      signal,
      shape: (answer) => {
        const { data = [], usage } = (answer ?? {}) as { data?: number[][]; usage?: unknown };
        const model = decodeURIComponent(new URL(request.url).pathname.replace(/^\/run\//, ""));
        return {
          object: "list",
          data: data.map((embedding, index) => ({ object: "embedding", index, embedding })),
          model,
          // Embedding models report no token counts (newer ones may): without them, the gateway's estimate is billed.
          ...(usage !== undefined && { usage }),
        };
      },
    }),
};

export const workersAiProvider: ProviderDescriptor<"workers-ai"> = {
  kind: "workers-ai",
  binding: BINDING,
  defaultBaseUrl: BINDING_URL,
  // Workers AI's model ids: `@cf/meta/llama-3.1-8b-instruct`, `@hf/…`.
  models: /^@(cf|hf)\//,
  prices: WORKERS_AI_PRICES,
  listed: ["@cf/meta/llama-3.1-8b-instruct-fp8-fast", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/baai/bge-base-en-v1.5"],
  endpoints: () => [text, embeddings],
};

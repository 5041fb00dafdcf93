// Cloudflare Workers AI through the Worker's `AI` binding: models that run
// in the same network as the gateway, with no key and no egress. Text
// generation (messages, tools where the model takes them, streams) from any
// client format, and OpenAI's embeddings. On when the Worker has the binding
// (wrangler.toml's `[ai]`), or through Workers AI's REST API when an account
// is configured and the binding is not (`npm run dev` points that at the mock
// upstream). The tests bind a stand-in in the binding's place
// (dev/standins/workers-ai-binding.ts).
import { openaiEmbeddingsCodec } from "../../formats/openai/upstream.ts";
import { workersAiCodec } from "../../formats/workers-ai/upstream.ts";
import type { Endpoint, EndpointCall, EnvVars, ProviderDescriptor } from "../types.ts";
import { type AnswerShape, isAiBinding, modelOf, runOnBinding } from "./binding.ts";
import { WORKERS_AI_PRICES } from "./prices.ts";
import { runOnRest } from "./rest.ts";

const BINDING = "AI";
/** Never fetched: requests to it go to the binding. */
const BINDING_URL = "https://workers-ai.binding";

/** The REST API's base for an account: `{base}/run/{model}` runs a model. */
const restBaseUrl = (vars: EnvVars) =>
  vars.WORKERS_AI_BASE_URL ??
  (vars.WORKERS_AI_ACCOUNT_ID && `https://api.cloudflare.com/client/v4/accounts/${vars.WORKERS_AI_ACCOUNT_ID}/ai`);

/** A model id as the REST API's path takes it: `@cf/meta/…` with its slashes, each segment escaped. */
const modelPath = (model: string) =>
  model
    .split("/")
    .map((segment) => encodeURIComponent(segment).replaceAll("%40", "@"))
    .join("/");

const runRequest = (call: EndpointCall, inputs: Record<string, unknown>) =>
  new Request(`${call.settings.baseUrl || BINDING_URL}/run/${modelPath(call.upstreamModel)}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": call.requestId,
      ...(call.settings.secret && { authorization: `Bearer ${call.settings.secret}` }),
    },
    body: JSON.stringify(inputs),
  });

/** The binding when the Worker has it; the REST API when a base URL other than the binding's is configured. */
const sendTo =
  (shape?: (request: Request) => AnswerShape): NonNullable<Endpoint["send"]> =>
  (request, { bindings, signal }) => {
    const options = { signal, ...(shape && { shape: shape(request) }) };
    if (isAiBinding(bindings[BINDING]) || request.url.startsWith(BINDING_URL)) {
      return runOnBinding(bindings, BINDING, request, options);
    }
    return runOnRest(request, options);
  };

const text: Endpoint = {
  dialect: "workers-ai",
  framing: "sse",
  codec: workersAiCodec,
  request: async (call) => runRequest(call, call.body),
  send: sendTo(),
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
  send: sendTo((request) => (answer) => {
    const { data = [], usage } = (answer ?? {}) as { data?: number[][]; usage?: unknown };
    return {
      object: "list",
      data: data.map((embedding, index) => ({ object: "embedding", index, embedding })),
      model: modelOf(request),
      // Embedding models report no token counts (newer ones may): without them, the gateway's estimate is billed.
      ...(usage !== undefined && { usage }),
    };
  }),
};

export const workersAiProvider: ProviderDescriptor<"workers-ai"> = {
  kind: "workers-ai",
  binding: BINDING,
  // Its REST API: an account and an API token, or a base URL of its shape (the mock's, locally).
  env: {
    vars: [{ name: "WORKERS_AI_ACCOUNT_ID" }, { name: "WORKERS_AI_API_TOKEN" }, { name: "WORKERS_AI_BASE_URL", url: true }],
    secret: (vars) => vars.WORKERS_AI_API_TOKEN,
    baseUrl: restBaseUrl,
  },
  defaultBaseUrl: BINDING_URL,
  // Workers AI's model ids: `@cf/meta/llama-3.1-8b-instruct`, `@hf/…`.
  models: /^@(cf|hf)\//,
  prices: WORKERS_AI_PRICES,
  listed: ["@cf/meta/llama-3.1-8b-instruct-fp8-fast", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/baai/bge-base-en-v1.5"],
  endpoints: () => [text, embeddings],
};

// Workers AI's REST API as an upstream, for a gateway without the `AI`
// binding (another account's models, a deploy outside Cloudflare, `npm run
// dev` offline against the mock): `POST {base}/run/{model}` with the API
// token as a bearer, the model's inputs as the body. A whole answer comes
// wrapped as `{result, success, errors, messages}` and is unwrapped here; a
// stream is the same server-sent events the binding returns, passed through.
import { type AnswerShape, workersAiAnswerResponse, workersAiErrorResponse } from "./binding.ts";

/** What the REST API wraps every JSON answer in. */
interface RestEnvelope {
  result?: unknown;
  success?: boolean;
  errors?: { code?: number; message?: string }[];
}

/** Sends the request (its URL and bearer token already the REST API's); answers as `runOnBinding` does. */
export async function runOnRest(request: Request, options: { signal: AbortSignal; shape?: AnswerShape }): Promise<Response> {
  const text = await request.text();
  const inputs = JSON.parse(text) as Record<string, unknown>;
  const response = await fetch(request.url, { method: "POST", headers: request.headers, body: text, signal: options.signal });
  const streamed = response.headers.get("content-type")?.startsWith("text/event-stream") ?? false;
  if (response.ok && streamed && response.body) return workersAiAnswerResponse(response.body, inputs);
  const envelope = (await response.json().catch(() => ({}))) as RestEnvelope;
  if (!response.ok || envelope.success === false) {
    const [first] = envelope.errors ?? [];
    // The binding's form, `"{code}: {message}"`, so both ways to Workers AI map its codes to one status.
    return workersAiErrorResponse(
      first ? `${first.code ?? 0}: ${first.message ?? ""}` : `Workers AI answered HTTP ${response.status}`,
    );
  }
  return workersAiAnswerResponse(envelope.result, inputs, options.shape);
}

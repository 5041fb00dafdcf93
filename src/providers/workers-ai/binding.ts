// The Worker's `AI` binding as an upstream: a request the endpoint built
// (`…/run/{model}`, its JSON body the model's inputs) becomes
// `env.AI.run(model, inputs)`, and what the binding gives back becomes a
// Response the gateway reads as it reads any provider's: JSON, a stream of
// server-sent events (what `stream: true` returns), or an error with an
// honest status, from the code Workers AI puts at the head of its messages.
import { GatewayError } from "../../http/errors.ts";

export interface AiBinding {
  run(
    model: string,
    inputs: Record<string, unknown>,
    options?: { signal?: AbortSignal; extraHeaders?: object },
  ): Promise<unknown>;
}

const isBinding = (value: unknown): value is AiBinding =>
  typeof value === "object" && value !== null && typeof (value as { run?: unknown }).run === "function";

/** Workers AI's error codes, by what they mean for the caller. */
function statusOf(message: string): number {
  const code = Number(/\b([345]\d{3}):/.exec(message)?.[1] ?? 0);
  if (code === 3040 || code === 3036 || code === 3007) return 429; // capacity, daily allocation, rate limited
  if (code === 5007) return 404; // no such model
  if (code >= 5000) return 400; // the inputs: validation, context too long
  return 502;
}

/** Runs the request on the binding; `shape` turns a whole answer into what the endpoint's dialect answers. */
export async function runOnBinding(
  bindings: Readonly<Record<string, unknown>>,
  name: string,
  request: Request,
  options: { signal: AbortSignal; shape?: (answer: unknown, inputs: Record<string, unknown>) => unknown },
): Promise<Response> {
  const binding = bindings[name];
  if (!isBinding(binding)) {
    throw new GatewayError(503, "unavailable", `The Worker has no \`${name}\` binding for Workers AI.`, {
      code: "provider_unavailable",
    });
  }
  const model = decodeURIComponent(new URL(request.url).pathname.replace(/^\/run\//, ""));
  const inputs = (await request.json()) as Record<string, unknown>;
  const requestId = request.headers.get("x-request-id");
  let answer: unknown;
  try {
    answer = await binding.run(model, inputs, {
      signal: options.signal,
      ...(requestId && { extraHeaders: { "x-request-id": requestId } }),
    });
  } catch (error) {
    if (options.signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return Response.json({ errors: [{ message }], message }, { status: statusOf(message) });
  }
  if (answer instanceof ReadableStream) {
    return new Response(answer, { headers: { "content-type": "text/event-stream" } });
  }
  return Response.json(options.shape ? options.shape(answer, inputs) : answer);
}

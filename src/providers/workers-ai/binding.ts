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

/** Turns a whole answer into what the endpoint's dialect answers (embeddings' `{shape, data}` into OpenAI's list). */
export type AnswerShape = (answer: unknown, inputs: Record<string, unknown>) => unknown;

export const isAiBinding = (value: unknown): value is AiBinding =>
  typeof value === "object" && value !== null && typeof (value as { run?: unknown }).run === "function";

/** The model a `…/run/{model}` request names. */
export const modelOf = (request: Request) => decodeURIComponent(new URL(request.url).pathname.replace(/^.*?\/run\//, ""));

/** Workers AI's error codes, by what they mean for the caller. */
function statusOf(message: string): number {
  const code = Number(/\b([345]\d{3}):/.exec(message)?.[1] ?? 0);
  if (code === 3040 || code === 3036 || code === 3007) return 429; // capacity, daily allocation, rate limited
  if (code === 5007) return 404; // no such model
  if (code >= 5000) return 400; // the inputs: validation, context too long
  return 502;
}

/** A Workers AI error (`"{code}: {message}"`, as the binding throws them) as the Response the codec reads. */
export const workersAiErrorResponse = (message: string) =>
  Response.json({ errors: [{ message }], message }, { status: statusOf(message) });

/** A Workers AI answer, a stream of server-sent events or a whole result, as the Response the codec reads. */
export function workersAiAnswerResponse(answer: unknown, inputs: Record<string, unknown>, shape?: AnswerShape): Response {
  if (answer instanceof ReadableStream) {
    return new Response(answer, { headers: { "content-type": "text/event-stream" } });
  }
  return Response.json(shape ? shape(answer, inputs) : answer);
}

/** Runs the request on the binding. */
export async function runOnBinding(
  bindings: Readonly<Record<string, unknown>>,
  name: string,
  request: Request,
  options: { signal: AbortSignal; shape?: AnswerShape },
): Promise<Response> {
  const binding = bindings[name];
  if (!isAiBinding(binding)) {
    throw new GatewayError(
      503,
      "unavailable",
      `The Worker has no \`${name}\` binding for Workers AI, and no WORKERS_AI_ACCOUNT_ID for its REST API.`,
      { code: "provider_unavailable" },
    );
  }
  const inputs = (await request.json()) as Record<string, unknown>;
  const requestId = request.headers.get("x-request-id");
  let answer: unknown;
  try {
    answer = await binding.run(modelOf(request), inputs, {
      signal: options.signal,
      ...(requestId && { extraHeaders: { "x-request-id": requestId } }),
    });
  } catch (error) {
    if (options.signal.aborted) throw error;
    return workersAiErrorResponse(error instanceof Error ? error.message : String(error));
  }
  return workersAiAnswerResponse(answer, inputs, options.shape);
}

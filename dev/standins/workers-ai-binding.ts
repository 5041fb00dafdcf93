// A stand-in for the Workers AI binding (`env.AI`), bound in its place where
// Cloudflare's AI cannot be reached (tests, offline): an object whose
// `run(model, inputs, options)` calls the mock upstream's Workers AI REST API
// and answers as the binding does: the result itself, a ReadableStream of
// server-sent events for `stream: true`, or a thrown error whose message
// starts with Workers AI's error code.
import type { AiBinding } from "../../src/providers/workers-ai/binding.ts";

export function workersAiStandIn(mockUrl: string): AiBinding {
  return {
    async run(model, inputs, options = {}) {
      const response = await fetch(`${mockUrl}/ai/run/${model}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(options.extraHeaders as Record<string, string> | undefined) },
        body: JSON.stringify(inputs),
        signal: options.signal,
      });
      if (inputs.stream === true && response.ok) return response.body;
      const body = (await response.json().catch(() => ({}))) as {
        success?: boolean;
        result?: unknown;
        errors?: { code?: number; message?: string }[];
      };
      if (!response.ok || body.success === false) {
        const [first] = body.errors ?? [];
        throw new Error(first ? `${first.code}: ${first.message}` : `Workers AI answered HTTP ${response.status}`);
      }
      return body.result;
    },
  };
}

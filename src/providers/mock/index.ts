// The mock upstream (dev/mock-upstream) speaks OpenAI's API; `x-mock-*`
// headers pass through so a client can script latency and failures.
import { openaiCompatible } from "../openai/compatible.ts";

function mockHeaders(client: Headers): Record<string, string> {
  const headers: Record<string, string> = {};
  client.forEach((value, name) => {
    if (name.startsWith("x-mock-")) headers[name] = value;
  });
  return headers;
}

export const mockProvider = openaiCompatible({ name: "mock", forwardHeaders: mockHeaders });

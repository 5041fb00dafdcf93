// The mock upstream (dev/mock-upstream), in OpenAI's dialect. `x-mock-*`
// headers pass through so a client can script latency and failures.
import { ALL_MEDIA, openaiCompatible } from "../openai/compatible.ts";

function mockHeaders(client: Headers): Record<string, string> {
  const headers: Record<string, string> = {};
  client.forEach((value, name) => {
    if (name.startsWith("x-mock-")) headers[name] = value;
  });
  return headers;
}

export const mockProvider = openaiCompatible({
  kind: "mock",
  env: { vars: [{ name: "MOCK_BASE_URL", url: true }], secret: () => undefined, baseUrl: (vars) => vars.MOCK_BASE_URL },
  models: /^mock-/,
  // The mock models cost something, so metering is visible in tests.
  prices: { "mock-": { input: 1, output: 2, cachedInput: 0.5 } },
  listed: ["mock-echo", "mock-lorem"],
  forwardHeaders: mockHeaders,
  media: ALL_MEDIA,
});
